//! The edit stage: bytes and an expression in, bytes out. No I/O, deterministic, so it can
//! be tested byte for byte and fuzzed.

use jaq_json::Val;

use crate::error::{Error, Result};
use crate::expr::yields::{self, Yield};
use crate::expr::Program;
use crate::yaml;

/// Files larger than this are refused: GitOps files are small, and a runaway input should
/// fail fast instead of exhausting a CI runner's memory.
pub(crate) const MAX_INPUT: u64 = 32 * 1024 * 1024;

/// What one expression did to one file.
#[derive(Debug)]
pub struct Edited {
    pub text: String,
    pub changed: bool,
    /// Remarks for stderr, such as aliases that follow an edited anchor.
    pub notes: Vec<String>,
}

/// "F" or "document N of F".
fn which(parsed: &yaml::Parsed, i: usize, file: &str) -> String {
    if parsed.values.len() > 1 {
        format!("document {} of {file}", i + 1)
    } else {
        file.to_string()
    }
}

/// Evaluates the program on every document; each must yield exactly one value.
pub fn evaluate(parsed: &yaml::Parsed, program: &Program, file: &str) -> Result<Vec<Val>> {
    // The output budget as results are made, from the bytes each adds: N documents each
    // adding a large value are refused at the one that crosses it, not after all of them.
    let mut added = 0usize;
    parsed
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut outs = program.run(v.clone(), i)?;
            let doc = format!(" for {}", which(parsed, i, file));
            match outs.len() {
                1 => {
                    let out = string_keys(outs.remove(0));
                    added = added.saturating_add(yaml::added_floor(v, &out));
                    crate::budget::check_output(file, parsed.src_len, added, true)?;
                    Ok(out)
                }
                0 => Err(Error::Expr(yields::one_line(&format!(
                    "the expression yields no value{doc} (a select that matched nothing, or empty), so nothing was changed; {}",
                    one_fix(program.template(), "an update keeps the document")
                )))),
                _ => Err(Error::Expr(yields::one_line(&format!(
                    "the expression yields several values{doc}, so nothing was changed; {}",
                    one_fix(program.template(), "join updates with |")
                )))),
            }
        })
        .collect()
}

/// Every value the program yields for each document, for printing (`eval` without -i or
/// --diff): yq prints each of them, and nothing for a document that yields none. The
/// output budget counts every value.
pub fn evaluate_each(
    parsed: &yaml::Parsed,
    program: &Program,
    file: &str,
) -> Result<Vec<Vec<Val>>> {
    let mut added = 0usize;
    parsed
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut keep = |out: &Val| {
                added = added.saturating_add(yaml::text_floor(out));
                crate::budget::check_output(file, parsed.src_len, added, true)
            };
            let outs = program.run_all(v.clone(), i, &mut keep)?;
            Ok(outs.into_iter().map(string_keys).collect())
        })
        .collect()
}

/// Values printed as yq prints them (pkg/yqlib/printer.go, `PrintResults`): one after
/// another, with `---` only where the next value comes from another document; a document
/// that yields nothing prints nothing.
pub(crate) fn print_results(parsed: &yaml::Parsed, results: &[Vec<Val>]) -> String {
    let mut out = String::new();
    let mut printed = false;
    for outs in results.iter().filter(|outs| !outs.is_empty()) {
        if printed {
            out.push_str("---\n");
        }
        for v in outs {
            out.push_str(&yaml::render::document(v, &parsed.layout));
        }
        printed = true;
    }
    out
}

/// The update to write instead of an expression that yields no value or several: a select
/// or a list of paths before an assignment belongs inside its left side.
fn one_fix(template: &str, rule: &str) -> String {
    use crate::expr::outline;
    let t = template.trim();
    if let Some(parts) = outline::comma_parts(t) {
        if let Some((last, init)) = parts.split_last() {
            if let Some((lhs, op, rhs)) = outline::assignment(last) {
                return format!(
                    "{rule}: to set them all, write `({}, {lhs}) {op} {rhs}`",
                    init.join(", ")
                );
            }
        }
    }
    if t.starts_with("select(") && outline::pipe_parts(t).is_some_and(|p| p.len() == 1) {
        return format!(
            "{rule}: a select alone keeps only what it matches; to change a value there, put it in the left side of an assignment, as in `({t} | .spec.replicas) = 3`"
        );
    }
    if let Some(parts) = outline::pipe_parts(t).filter(|p| p.len() > 1) {
        return format!(
            "{rule}: write `{}`",
            outline::scoped_update(parts[0], &parts[1..].join(" | "))
        );
    }
    format!("{rule}, such as `.image.tag = \"{{{{VERSION}}}}\"`")
}

/// The one rule for every command that writes: each document's result is that document,
/// updated, never a value the expression selected or computed (see `expr::yields`).
pub fn check_update(
    parsed: &yaml::Parsed,
    program: &Program,
    targets: &[Val],
    file: &str,
) -> Result<()> {
    for (i, (old, new)) in parsed.values.iter().zip(targets).enumerate() {
        match yields::judge(program, old, new, i, parsed.is_partial()) {
            Yield::Update => {}
            Yield::Other { what, fix } => {
                return Err(Error::Expr(yields::one_line(&format!(
                    "for {}, the expression yields {what}, not the updated document, so nothing was changed; {fix}",
                    which(parsed, i, file)
                ))))
            }
            // Only along a reach, whose caller loads the whole document on any error.
            Yield::Unsure => return Err(Error::Internal(format!("{file}: judged along a reach"))),
        }
    }
    Ok(())
}

/// A number, boolean or null as an object key (jaq allows them: `[1] | to_entries |
/// from_entries`) is written as its text, and a YAML key reads back as its text: so the
/// result holds that string, as jq's own `from_entries` makes it.
fn string_keys(v: Val) -> Val {
    fn needs(v: &Val) -> bool {
        match v {
            Val::Obj(o) => o
                .iter()
                .any(|(k, v)| matches!(k, Val::Null | Val::Bool(_) | Val::Num(_)) || needs(v)),
            Val::Arr(a) => a.iter().any(needs),
            _ => false,
        }
    }
    fn convert(v: Val) -> Val {
        match v {
            Val::Obj(o) => Val::obj(
                o.iter()
                    .map(|(k, v)| {
                        let k = match k {
                            Val::Null | Val::Bool(_) | Val::Num(_) => Val::from(k.to_string()),
                            k => k.clone(),
                        };
                        (k, convert(v.clone()))
                    })
                    .collect(),
            ),
            Val::Arr(a) => Val::Arr(a.iter().cloned().map(convert).collect::<Vec<_>>().into()),
            v => v,
        }
    }
    if needs(&v) {
        convert(v)
    } else {
        v
    }
}

/// How many placeholders of ours `text` holds: `{{NAME}}` of an upper-case name (with
/// spaces inside the braces or not), and `<<VERSION>>`.
fn placeholders_in(text: &str) -> usize {
    let braces = text
        .match_indices("{{")
        .filter(|(i, _)| {
            let rest = text[i + 2..].trim_start_matches(' ');
            let len = rest
                .bytes()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
                .count();
            len > 0 && rest[len..].trim_start_matches(' ').starts_with("}}")
        })
        .count();
    braces + text.matches("<<VERSION>>").count()
}

/// Refuses a result that holds more of our placeholders than the file did: one that nothing
/// filled in (a value that carried one, an expression that spelled one in pieces) would
/// reach the cluster as text.
pub fn check_placeholders(before: &str, after: &str, file: &str) -> Result<()> {
    if placeholders_in(after) > placeholders_in(before) {
        return Err(Error::Refused {
            file: file.to_string(),
            msg: "the result holds a placeholder such as {{VERSION}} that nothing filled in; check the expression and the values it reads".into(),
        });
    }
    Ok(())
}

/// Applies `program` to the YAML in `bytes`, changing only the bytes of changed values.
pub fn edit(bytes: &[u8], file: &str, program: &Program) -> Result<Edited> {
    // A program whose reach is known runs on the nodes it can reach; if anything goes wrong
    // that way (an alias, an error, a result that does not verify), the whole document is
    // loaded and the run redone, so outcomes and messages are those of the whole load.
    match edit_reach(bytes, file, program) {
        Some(done) => Ok(done),
        None => edit_whole(bytes, file, program),
    }
}

/// `edit` along the program's reach only: `None` when its reach is unknown or anything
/// fails that way.
pub fn edit_reach(bytes: &[u8], file: &str, program: &Program) -> Option<Edited> {
    let src = yaml::decode(bytes, file).ok()?;
    let parsed = yaml::parse_reach(src, file, program.reach()?)?;
    edit_parsed(src, file, program, &parsed).ok()
}

/// `edit` with the whole document loaded, always: the reference the fast way is tested
/// against.
pub fn edit_whole(bytes: &[u8], file: &str, program: &Program) -> Result<Edited> {
    let src = yaml::decode(bytes, file)?;
    edit_parsed(src, file, program, &yaml::parse(src, file)?)
}

fn edit_parsed(src: &str, file: &str, program: &Program, parsed: &yaml::Parsed) -> Result<Edited> {
    let targets = program.reading(src, || evaluate(parsed, program, file))?;
    check_update(parsed, program, &targets, file)?;
    let spliced = yaml::splice(src, file, parsed, &targets, &program.restyles())?;
    Ok(Edited {
        changed: spliced.text != src,
        text: spliced.text,
        notes: spliced.notes,
    })
}
