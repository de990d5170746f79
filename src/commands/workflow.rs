//! `gitops-update workflow`: the GitOps repo's receiver, printed, checked or written.

use crate::config::{WorkflowConfig, WorkflowMode as Mode};
use crate::error::{exit, Error, Result};
use crate::policy::Policy;
use crate::workflow::Receiver;
use crate::{report, write};

pub fn execute(cfg: &WorkflowConfig) -> Result<u8> {
    let receiver = match std::fs::read(&cfg.config) {
        Ok(bytes) => {
            // The same file is the update's policy: a config the update would refuse is
            // refused here too, so the repo's CI finds it before a dispatch does.
            Policy::parse(&bytes)?;
            Receiver::parse(&bytes)?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !cfg.config_given => {
            report::note(&format!(
                "no {}: the record-only receiver",
                cfg.config.display()
            ));
            Receiver::default()
        }
        Err(e) => {
            return Err(Error::Input {
                path: cfg.config.clone(),
                why: e.to_string(),
            })
        }
    };
    for d in &receiver.deploys {
        let pinned = d.workflow.starts_with("./")
            || d.workflow
                .rsplit_once('@')
                .is_some_and(|(_, r)| r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()));
        if !pinned {
            report::note(&format!(
                "component `{}`: {} is not pinned to a commit, so whoever can move that ref decides what deploys (zizmor's unpinned-uses)",
                d.component, d.workflow
            ));
        }
    }
    let text = receiver.render();
    let out = report::print;
    match cfg.mode {
        Mode::Print => out(&text)?,
        Mode::Write => write::write_creating(&cfg.file, text.as_bytes())?,
        Mode::Check => {
            let committed = match std::fs::read(&cfg.file) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => {
                    return Err(Error::Input {
                        path: cfg.file.clone(),
                        why: e.to_string(),
                    })
                }
            };
            if committed.as_bytes() != text.as_bytes() {
                let name = cfg.file.display().to_string();
                out(&report::unified_diff(
                    &name,
                    &committed,
                    &text,
                    report::color_stdout(),
                ))?;
                report::progress(&format!(
                    "{name} is not what {} gives: run `gitops-update workflow --write` and commit it",
                    cfg.config.display()
                ));
                return Ok(exit::STALE);
            }
        }
    }
    Ok(exit::OK)
}
