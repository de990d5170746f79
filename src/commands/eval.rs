//! The `eval` command: a yq-style evaluation that prints, diffs or writes in place.

use std::io::Read;
use std::path::Path;

use crate::config::{EvalConfig, Output};
use crate::edit::{self, MAX_INPUT};
use crate::error::{Error, Result};
use crate::expr::yields::{self, Yield};
use crate::expr::Program;
use crate::{report, write, yaml};

pub fn execute(cfg: EvalConfig) -> Result<u8> {
    crate::budget::set_limits(cfg.limits);
    // One evaluation budget for every document of the file.
    let _budget = crate::budget::session();
    let program = Program::compile(&cfg.expression, &cfg.bindings)?;
    let (name, bytes) = read_input(cfg.file.as_deref())?;
    let src = yaml::decode(&bytes, &name)?;
    // Along the program's reach first; on any failure that way, from the whole document,
    // whose outcome and messages are the reference (see `edit::edit`).
    let reached = program
        .reach()
        .and_then(|r| yaml::parse_reach(src, &name, r))
        .and_then(|parsed| outcome(&cfg, &program, src, &name, &parsed).ok());
    let outcome = match reached {
        Some(o) => o,
        None => outcome(&cfg, &program, src, &name, &yaml::parse(src, &name)?)?,
    };
    let spliced = match outcome {
        Outcome::Selected(text) => {
            report::print(&text)?;
            return Ok(0);
        }
        Outcome::Spliced(s) => s,
    };
    for n in &spliced.notes {
        report::note(n);
    }
    match (cfg.output, cfg.file.as_deref()) {
        (Output::Print, _) => report::print(&spliced.text)?,
        (Output::Diff, _) => {
            let diff = report::unified_diff(&name, src, &spliced.text, report::color_stdout());
            report::print(&diff)?;
        }
        (Output::InPlace, Some(path)) => {
            if spliced.text != src {
                write::write_atomic(path, spliced.text.as_bytes())?;
            }
        }
        (Output::InPlace, None) => {
            return Err(Error::Usage("-i needs a FILE, not standard input".into()));
        }
    }
    Ok(0)
}

/// What an evaluation gives: a value the expression selected or computed, printed as
/// YAML; or the updated document.
enum Outcome {
    Selected(String),
    Spliced(yaml::Spliced),
}

fn outcome(
    cfg: &EvalConfig,
    program: &Program,
    src: &str,
    name: &str,
    parsed: &yaml::Parsed,
) -> Result<Outcome> {
    // A print shows every value, as yq does: several from one document, or none.
    let targets = if cfg.output == Output::Print {
        let results = edit::evaluate_each(parsed, program, name)?;
        if results.iter().any(|outs| outs.len() != 1) {
            return Ok(Outcome::Selected(edit::print_results(parsed, &results)));
        }
        results.into_iter().flatten().collect()
    } else {
        edit::evaluate(parsed, program, name)?
    };
    // -i and --diff write, or show what would be written: the writers' one rule refuses
    // anything but the updated document. A print shows whatever the expression yields.
    let updates = if cfg.output == Output::Print {
        all_updates(program, parsed, &targets, name)?
    } else {
        edit::check_update(parsed, program, &targets, name)?;
        true
    };
    if !updates {
        let floor = targets.iter().map(yaml::text_floor).sum();
        crate::budget::check_output(name, src.len(), floor, true)?;
        let docs: Vec<String> = targets
            .iter()
            .map(|t| yaml::render::document(t, &parsed.layout))
            .collect();
        let printed = docs.iter().map(String::len).sum::<usize>() + 4 * docs.len();
        crate::budget::check_output(name, src.len(), printed, false)?;
        return Ok(Outcome::Selected(docs.join("---\n")));
    }
    Ok(Outcome::Spliced(yaml::splice(src, name, parsed, &targets)?))
}

/// Whether every document's result is that document, updated (print the file) rather than
/// a value the expression selected or computed (print the value).
fn all_updates(
    program: &Program,
    parsed: &yaml::Parsed,
    targets: &[jaq_json::Val],
    name: &str,
) -> Result<bool> {
    // Every document is judged: one that cannot be judged along the reach sends the whole
    // evaluation to the whole load, even after one that is not an update.
    let mut all = true;
    for (i, (old, new)) in parsed.values.iter().zip(targets).enumerate() {
        match yields::judge(program, old, new, i, parsed.is_partial()) {
            Yield::Update => {}
            Yield::Other { .. } => all = false,
            // Along a reach only: the caller loads the whole document on any error.
            Yield::Unsure => return Err(Error::Internal(format!("{name}: judged along a reach"))),
        }
    }
    Ok(all)
}

fn read_input(file: Option<&Path>) -> Result<(String, Vec<u8>)> {
    let Some(path) = file else {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Input {
                path: "<stdin>".into(),
                why: e.to_string(),
            })?;
        check_size("<stdin>".as_ref(), bytes.len() as u64)?;
        return Ok(("<stdin>".into(), bytes));
    };
    let fail = |why: String| Error::Input {
        path: path.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            _ => e.to_string(),
        })
    })?;
    if meta.is_dir() {
        return Err(fail(
            "it is a directory; give the path of a YAML file".into(),
        ));
    }
    check_size(path, meta.len())?;
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    Ok((path.display().to_string(), bytes))
}

fn check_size(path: &Path, len: u64) -> Result<()> {
    if len > MAX_INPUT {
        return Err(Error::Input {
            path: path.to_path_buf(),
            why: format!(
                "it is larger than {} MiB; gitops-update edits configuration files, not data",
                MAX_INPUT >> 20
            ),
        });
    }
    Ok(())
}
