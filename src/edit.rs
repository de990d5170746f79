//! The edit stage: bytes and an expression in, bytes out. No I/O, deterministic, so it can
//! be tested byte for byte and fuzzed.

use jaq_json::Val;

use crate::error::{Error, Result};
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

/// Evaluates the program on every document; each must yield exactly one value.
pub fn evaluate(parsed: &yaml::Parsed, program: &Program, file: &str) -> Result<Vec<Val>> {
    let many = parsed.values.len() > 1;
    parsed
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut outs = program.run(v.clone(), i)?;
            let doc = if many {
                format!(" for document {} of {file}", i + 1)
            } else {
                format!(" for {file}")
            };
            match outs.len() {
                1 => Ok(string_keys(outs.remove(0))),
                0 => Err(Error::Expr(format!(
                    "the expression produced no value{doc}; it must produce exactly one (an update such as `.image.tag = \"{{{{VERSION}}}}\"`)"
                ))),
                _ => Err(Error::Expr(format!(
                    "the expression produced several values{doc}; it must produce exactly one (an update such as `.image.tag = \"{{{{VERSION}}}}\"`)"
                ))),
            }
        })
        .collect()
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
    let targets = evaluate(parsed, program, file)?;
    let spliced = yaml::splice(src, file, parsed, &targets)?;
    Ok(Edited {
        changed: spliced.text != src,
        text: spliced.text,
        notes: spliced.notes,
    })
}
