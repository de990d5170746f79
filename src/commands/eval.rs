//! The `eval` command: a yq-style evaluation of one or more inputs that prints, diffs or
//! writes in place.

use std::io::Read;
use std::path::{Path, PathBuf};

use jaq_json::Val;

use crate::config::{EvalConfig, EvalFormat, Input, Output};
use crate::edit::{self, MAX_INPUT};
use crate::error::{exit, Error, Result};
use crate::expr::yields::{self, Yield};
use crate::expr::Program;
use crate::yaml::render::Layout;
use crate::{report, write, yaml};

/// One input, evaluated: what to print or write, and whether any result was neither null
/// nor false (yq's `-e`).
struct Evaluated {
    name: String,
    path: Option<PathBuf>,
    src: String,
    /// The result text: the updated file, or the values printed.
    text: String,
    notes: Vec<String>,
    truthy: bool,
}

pub fn execute(cfg: EvalConfig) -> Result<u8> {
    crate::budget::set_limits(cfg.limits);
    // One evaluation budget for every document of every input.
    let _budget = crate::budget::session();
    let program = Program::compile(&cfg.expression, &cfg.bindings)?;
    if cfg.null_input {
        return null_input(&cfg, &program);
    }
    // Every input is read and evaluated before anything is printed or written: an error in
    // any of them leaves stdout empty and every file as it was.
    let several = cfg.inputs.len() > 1;
    let mut done = Vec::with_capacity(cfg.inputs.len());
    for input in &cfg.inputs {
        let (name, bytes) = read_input(input)?;
        let e = evaluate(&cfg, &program, name.clone(), input, &bytes);
        done.push(e.map_err(|e| if several { name_the_file(e, &name) } else { e })?);
    }
    if cfg.output == Output::InPlace {
        check_distinct(&done)?;
    }
    for e in &done {
        for n in &e.notes {
            report::note(n);
        }
    }
    match cfg.output {
        Output::Print => report::print(&joined(&cfg, &done))?,
        Output::Diff => {
            let color = report::color_stdout();
            let diffs: String = done
                .iter()
                .map(|e| report::unified_diff(&e.name, &e.src, &e.text, color))
                .collect();
            report::print(&diffs)?;
        }
        Output::InPlace => {
            // Each file on its own is replaced atomically; a failure to write one (a full
            // disk) stops there, after those before it were written.
            for e in &done {
                if let (Some(path), true) = (&e.path, e.text != e.src) {
                    write::write_atomic(path, e.text.as_bytes())?;
                }
            }
        }
    }
    Ok(exit_status(&cfg, done.iter().any(|e| e.truthy)))
}

/// yq's flags that `eval` does not take (yq's cmd/root.go): a yq habit gets one line that
/// names the flag, not clap's usage.
const YQ_FLAGS: &[&str] = &[
    "-v",
    "--verbose",
    "--debug-node-info",
    "-j",
    "--tojson",
    "-p",
    "--input-format",
    "--string-interpolation",
    "-N",
    "--no-doc",
    "-0",
    "--nul-output",
    "-C",
    "--colors",
    "-M",
    "--no-colors",
    "-f",
    "--front-matter",
    "--expression",
    "--header-preprocess",
    "--yaml-fix-merge-anchor-to-spec",
    "-c",
    "--yaml-compact-seq-indent",
    "-s",
    "--split-exp",
    "--split-exp-file",
    "--from-file",
    "--shell-key-separator",
];

/// yq's flag families, each for one input or output format.
const YQ_FLAG_PREFIXES: &[&str] = &[
    "--xml-",
    "--csv-",
    "--tsv-",
    "--lua-",
    "--ini-",
    "--properties-",
    "--security-",
];

/// The yq flag clap did not know, as the user wrote it (without `=value`).
pub(super) fn yq_flag(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let ContextValue::String(arg) = e.get(ContextKind::InvalidArg)? else {
        return None;
    };
    let flag = arg.split('=').next().unwrap_or(arg);
    let known = YQ_FLAGS.contains(&flag) || YQ_FLAG_PREFIXES.iter().any(|p| flag.starts_with(p));
    known.then(|| flag.to_string())
}

/// yq's `-e`: exit 1 when no result was printed or every one is null or false.
fn exit_status(cfg: &EvalConfig, truthy: bool) -> u8 {
    if cfg.exit_status && !truthy {
        report::note("-e: no result, or only null and false: exit 1");
        return exit::NO_MATCH;
    }
    exit::OK
}

fn is_truthy(v: &Val) -> bool {
    !matches!(v, Val::Null | Val::Bool(false))
}

/// An expression error in one of several inputs says which.
fn name_the_file(e: Error, name: &str) -> Error {
    match e {
        Error::Expr(msg) if !msg.contains(name) => Error::Expr(format!("{name}: {msg}")),
        other => other,
    }
}

/// The printed results of every input, in order. In YAML, as yq prints several files: a
/// `---` line before each input's output after the first, unless it starts with its own.
fn joined(cfg: &EvalConfig, done: &[Evaluated]) -> String {
    let mut out = String::new();
    for e in done.iter().filter(|e| !e.text.is_empty()) {
        if cfg.format == EvalFormat::Yaml && !out.is_empty() {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            if !starts_with_marker(&e.text) {
                out.push_str("---\n");
            }
        }
        out.push_str(&e.text);
    }
    out
}

/// Whether the text's first line is a document start marker (`---`, `--- value`).
fn starts_with_marker(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']))
}

/// `-i` writes each file once: two names for one file would be two writes.
fn check_distinct(done: &[Evaluated]) -> Result<()> {
    let mut seen: Vec<(PathBuf, &str)> = Vec::new();
    for e in done {
        let Some(path) = &e.path else { continue };
        let target = write::resolve_target(path)?;
        if let Some((_, first)) = seen.iter().find(|(t, _)| *t == target) {
            return Err(Error::Usage(format!(
                "-i: {} and {} are the same file; give it once",
                first, e.name
            )));
        }
        seen.push((target, &e.name));
    }
    Ok(())
}

/// yq's `-n`: the expression evaluated once against null, its value printed.
fn null_input(cfg: &EvalConfig, program: &Program) -> Result<u8> {
    let name = "<null input>";
    let outs = program.run(Val::Null, 0)?;
    if outs.len() > 1 {
        return Err(Error::Expr(yields::one_line(
            "with -n, the expression yields several values; gitops-update eval prints one value per document",
        )));
    }
    let text = values_text(cfg, &outs, &Layout::default())?;
    crate::budget::check_output(name, 0, text.len(), false)?;
    report::print(&text)?;
    Ok(exit_status(cfg, outs.iter().any(is_truthy)))
}

/// Results printed as values: JSON (`-o json`), or YAML in block style (`-P`, and what a
/// query selects).
fn values_text(cfg: &EvalConfig, values: &[Val], layout: &Layout) -> Result<String> {
    match cfg.format {
        EvalFormat::Json => {
            let mut out = String::new();
            for v in values {
                out.push_str(&json_text(v, cfg.indent.unwrap_or(2), cfg.unwrap)?);
            }
            Ok(out)
        }
        EvalFormat::Yaml => {
            let layout = match cfg.indent {
                Some(step) => Layout {
                    step,
                    ..layout.clone()
                },
                None => layout.clone(),
            };
            let docs: Vec<String> = values
                .iter()
                .map(|v| yaml::render::document(v, &layout))
                .collect();
            Ok(docs.join("---\n"))
        }
    }
}

/// One value as yq's `-o json` prints it: indented by `indent` spaces (one line for 0),
/// then a line break; with `-r`, a string bare.
fn json_text(v: &Val, indent: usize, unwrap: bool) -> Result<String> {
    if let (true, Val::TStr(s) | Val::BStr(s)) = (unwrap, v) {
        return Ok(format!("{}\n", String::from_utf8_lossy(s)));
    }
    let pp = jaq_json::write::Pp {
        indent: (indent > 0).then(|| " ".repeat(indent)),
        sep_space: indent > 0,
        ..Default::default()
    };
    let mut buf = Vec::new();
    jaq_json::write::write(&mut buf, &pp, 0, v)
        .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?;
    buf.push(b'\n');
    String::from_utf8(buf).map_err(|e| Error::Internal(format!("JSON is not UTF-8: {e}")))
}

fn evaluate(
    cfg: &EvalConfig,
    program: &Program,
    name: String,
    input: &Input,
    bytes: &[u8],
) -> Result<Evaluated> {
    let src = yaml::decode(bytes, &name)?;
    let path = match input {
        Input::File(p) => Some(p.clone()),
        Input::Stdin => None,
    };
    let done = |text: String, notes: Vec<String>, truthy: bool| Evaluated {
        name: name.clone(),
        path: path.clone(),
        src: src.to_string(),
        text,
        notes,
        truthy,
    };
    // -o json and -P print every result as a value, from the whole document.
    if cfg.format == EvalFormat::Json || cfg.pretty {
        let parsed = yaml::parse(src, &name)?;
        let targets = program.reading(src, || edit::evaluate(&parsed, program, &name))?;
        // yq's -P style: indented by 2, sequences too; the file's line ends.
        let pretty = Layout {
            newline: parsed.layout.newline,
            ..Layout::default()
        };
        let text = values_text(cfg, &targets, &pretty)?;
        crate::budget::check_output(&name, src.len(), text.len(), false)?;
        return Ok(done(text, Vec::new(), targets.iter().any(is_truthy)));
    }
    // Along the program's reach first; on any failure that way, from the whole document,
    // whose outcome and messages are the reference (see `edit::edit`).
    let reached = program
        .reach()
        .and_then(|r| yaml::parse_reach(src, &name, r))
        .and_then(|parsed| outcome(cfg, program, src, &name, &parsed).ok());
    let (outcome, truthy) = match reached {
        Some(o) => o,
        None => outcome(cfg, program, src, &name, &yaml::parse(src, &name)?)?,
    };
    Ok(match outcome {
        Outcome::Selected(text) => done(text, Vec::new(), truthy),
        Outcome::Spliced(s) => done(s.text, s.notes, truthy),
    })
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
) -> Result<(Outcome, bool)> {
    // A print shows every value, as yq does: several from one document, or none.
    let targets = if cfg.output == Output::Print {
        let results = program.reading(src, || edit::evaluate_each(parsed, program, name))?;
        if results.iter().any(|outs| outs.len() != 1) {
            let truthy = results.iter().flatten().any(is_truthy);
            let text = edit::print_results(parsed, &results);
            return Ok((Outcome::Selected(text), truthy));
        }
        results.into_iter().flatten().collect()
    } else {
        program.reading(src, || edit::evaluate(parsed, program, name))?
    };
    let truthy = targets.iter().any(is_truthy);
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
        let text = values_text(cfg, &targets, &parsed.layout)?;
        crate::budget::check_output(name, src.len(), text.len(), false)?;
        return Ok((Outcome::Selected(text), truthy));
    }
    Ok((
        Outcome::Spliced(yaml::splice(
            src,
            name,
            parsed,
            &targets,
            &program.restyles(),
        )?),
        truthy,
    ))
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

fn read_input(input: &Input) -> Result<(String, Vec<u8>)> {
    let Input::File(path) = input else {
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
