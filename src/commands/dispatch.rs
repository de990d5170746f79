//! `gitops-update dispatch`: the consumer's side. Wiring and report; the dispatch, the wait
//! and the status on the consumer's commit are `crate::dispatch`'s.

use crate::config::DispatchConfig;
use crate::dispatch::{Dispatch, Landed};
use crate::error::{Error, Result};
use crate::report::{self, DispatchReport, Proven};

/// Dispatches, waits, reports. The outputs are written whatever happens.
pub fn execute(cfg: &DispatchConfig) -> Result<u8> {
    let mut dispatch = Dispatch::new(cfg);
    let result = cfg
        .forge()
        .map_err(|e| Error::Api(e.to_string()))
        .and_then(|forge| dispatch.land(&forge));
    let report = DispatchReport {
        component: &cfg.component,
        version: cfg.version.as_str(),
        repo: &cfg.repo,
        dispatch_id: &cfg.dispatch_id,
        proven: result.as_ref().ok().map(proven),
    };
    report
        .write_outputs(&cfg.output_files)
        .map_err(|(path, source)| Error::Write { path, source })?;
    dispatch.finish(&result);
    let (text, done, code) = (report.text(), report.done(), report.exit_code());
    result?;
    report::stdout(&text).map_err(|source| Error::Write {
        path: "<stdout>".into(),
        source,
    })?;
    if let Some(line) = done {
        report::progress(&line);
    }
    Ok(code)
}

fn proven(landed: &Landed) -> Proven<'_> {
    Proven {
        sha: &landed.sha,
        changed: landed.changed,
        pull_url: landed.pull.as_ref().map(|p| p.url.as_str()),
        superseded_by: landed.superseded_by.as_deref(),
    }
}
