//! What an expression yields for a document: the document, updated, or something else (a
//! value it selected or computed). Every command that writes a file asks this first, so an
//! expression that reads `.image.tag`, compares with `==`, or selects an item before it
//! assigns never becomes the whole file. The answer for anything else names what the
//! expression yields and the update to write instead.

use jaq_json::Val;

use super::outline;
use super::Program;

/// An expression's result, judged against the document it ran on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Yield {
    /// The document, updated or as it was.
    Update,
    /// Not the document: what it is, and the update to write instead.
    Other { what: String, fix: String },
    /// Cannot tell from a document loaded along the program's reach: load it whole.
    Unsure,
}

/// Judges `new`, what `program` gave for the document `old` (the `doc`-th of its file).
///
/// The rule does not depend on the root's kind: `.` and `select(...)` (whose path is `[]`)
/// keep the document; any other path expression (`.image`) selects a part of it; a pipe
/// whose left side selects a part (`.images[] | select(...) | .tag = "x"`) updates that
/// part and yields it; a pipe that ends in a path reads from the updated document; and
/// any other expression updates the document only when its result has the document's
/// shape (a mapping for a mapping, a sequence for a sequence, a scalar for a scalar,
/// anything for an empty document) and does not empty a mapping without a `del`.
///
/// `partial`: `old` was loaded along the program's reach, without the keys it cannot
/// reach, so a mapping that shares no key with it may still share one with the file.
pub fn judge(program: &Program, old: &Val, new: &Val, doc: usize, partial: bool) -> Yield {
    let template = program.template().trim();
    if let Some(judged) = judge_paths(program, template, old, new, doc) {
        return judged;
    }
    if let Some(parts) = outline::pipe_parts(template).filter(|p| p.len() > 1) {
        if let Some(other) = judge_pipe(program, &parts, old, new, doc) {
            return other;
        }
    }
    let kind = |v: &Val| match v {
        Val::Obj(_) => "mapping",
        Val::Arr(_) => "sequence",
        _ => "scalar",
    };
    let same_shape = matches!(old, Val::Null) || kind(old) == kind(new);
    // `. = {...}` replaces the document in so many words: kept, if it keeps its shape.
    if outline::assigns_root(template) {
        return if same_shape {
            Yield::Update
        } else {
            Yield::Other {
                what: format!("{} in place of the document's {}", describe(new), kind(old)),
                fix: "assign to a path inside the document rather than to `.` itself".into(),
            }
        };
    }
    // A mapping that keeps none of the document's keys, from an expression that assigns
    // nothing, replaces the document (`{}`, `{"a": 1}`, `.status // {}`), unless it says it
    // removes or renames keys.
    if let (Val::Obj(o), Val::Obj(n), false) = (old, new, outline::updates(template)) {
        if let Some(judged) = judge_new_mapping(template, (o, n), new, partial) {
            return judged;
        }
    }
    if same_shape {
        return Yield::Update;
    }
    let fix = match outline::comparison(template) {
        Some((lhs, rhs)) => format!("`==` compares; to set the value, write `{lhs} = {rhs}`"),
        None => QUERY_FIX.into(),
    };
    Yield::Other {
        what: describe(new),
        fix,
    }
}

/// A path expression: `.` and `select(...)` (path `[]`) keep the document; any other path
/// selects a part of it. `None` when the program is not a path expression.
fn judge_paths(
    program: &Program,
    template: &str,
    old: &Val,
    new: &Val,
    doc: usize,
) -> Option<Yield> {
    let paths = program.paths_of(old.clone(), doc)?;
    if !paths.is_empty() && !paths.iter().any(below_root) {
        return Some(Yield::Update);
    }
    let p = paths.iter().find(|p| below_root(p))?;
    // Assigning a version to a mapping or sequence would replace it whole.
    let scalar = !matches!(new, Val::Obj(_) | Val::Arr(_));
    let fix = if scalar && outline::pipe_parts(template).is_some_and(|p| p.len() == 1) {
        format!("to set it, write `{template} = \"{{{{VERSION}}}}\"`")
    } else {
        QUERY_FIX.to_string()
    };
    Some(Yield::Other {
        what: format!("{} (the value at {})", describe(new), show_path(p)),
        fix,
    })
}

/// A mapping `n` (the result `new`) from an expression that assigns nothing, in place of
/// the mapping `o`: `None` when it keeps some of the document's keys or says why not.
fn judge_new_mapping(
    template: &str,
    (o, n): (&jaq_json::Map, &jaq_json::Map),
    new: &Val,
    partial: bool,
) -> Option<Yield> {
    let says = |words: &[&str]| words.iter().any(|w| template.contains(w));
    let shares = n.iter().any(|(k, _)| o.get(k).is_some());
    if !shares && (partial || o.is_empty()) && !n.is_empty() {
        return Some(if partial {
            Yield::Unsure
        } else {
            Yield::Update
        });
    }
    let kept = shares
        || (n.is_empty() && says(&["del", "select", "entries", "map"]))
        || (!n.is_empty() && says(&["entries", "map"]));
    if !kept {
        return Some(Yield::Other {
            what: format!("{} that keeps none of the document's keys", describe(new)),
            fix: "an update assigns to a path, such as `.image.tag = \"{{VERSION}}\"`".into(),
        });
    }
    None
}

/// Whether a path from `path(...)` points below the document's root (`.image`, not `.`).
fn below_root(p: &Val) -> bool {
    !matches!(p, Val::Arr(a) if a.is_empty())
}

/// What to say to an expression that only reads.
const QUERY_FIX: &str = "`eval` without -i or --diff prints such a value; an update assigns to a path, such as `.image.tag = \"{{VERSION}}\"`";

/// A pipe whose left side selects a part of the document, or whose last step reads from the
/// updated document: `None` when neither is so.
fn judge_pipe(
    program: &Program,
    parts: &[&str],
    old: &Val,
    new: &Val,
    doc: usize,
) -> Option<Yield> {
    for k in (1..parts.len()).rev() {
        let prefix = parts[..k].join(" | ");
        let Some(paths) = program
            .part(&prefix)
            .and_then(|p| p.paths_of(old.clone(), doc))
        else {
            continue;
        };
        let rest = parts[k..].join(" | ");
        match paths.iter().find(|p| below_root(p)) {
            // What follows assigns: an update of that part, meant for the document.
            Some(p) if outline::updates(&rest) => {
                return Some(Yield::Other {
                    what: format!("{} (the value at {}, updated)", describe(new), show_path(p)),
                    fix: format!(
                        "to update it in place, write `{}`",
                        outline::scoped_update(&prefix, &rest)
                    ),
                })
            }
            Some(p) => {
                return Some(Yield::Other {
                    what: format!(
                        "{} (computed from the value at {})",
                        describe(new),
                        show_path(p)
                    ),
                    fix: QUERY_FIX.to_string(),
                })
            }
            // The left side keeps the whole document (`select(...)`): what follows acts
            // on the document.
            None => break,
        }
    }
    let (last, init) = parts.split_last()?;
    let init = init.join(" | ");
    let before = program.part(&init)?.run(old.clone(), doc).ok()?;
    let [updated] = before.as_slice() else {
        return None;
    };
    let path = program.part(last)?.path_of(updated.clone(), doc)?;
    below_root(&path).then(|| Yield::Other {
        what: format!(
            "{} (the value at {} after the update)",
            describe(new),
            show_path(&path)
        ),
        fix: format!("the update is `{init}`: leave out `| {last}`"),
    })
}

/// A value in a few words, with no control characters: it may come from the file.
pub(crate) fn describe(v: &Val) -> String {
    match v {
        Val::Null => "null".into(),
        Val::Bool(b) => b.to_string(),
        Val::Num(_) => format!("the number {}", printable(&v.to_string(), 40)),
        Val::TStr(_) | Val::BStr(_) => format!("the string {}", printable(&v.to_string(), 60)),
        Val::Arr(a) if a.is_empty() => "an empty sequence".into(),
        Val::Arr(a) if a.len() == 1 => "a sequence of 1 item".into(),
        Val::Arr(a) => format!("a sequence of {} items", a.len()),
        Val::Obj(o) if o.is_empty() => "an empty mapping".into(),
        Val::Obj(o) => {
            let keys: Vec<String> = o
                .iter()
                .take(4)
                .map(|(k, _)| printable(&key(k), 30))
                .collect();
            let more = if o.len() > 4 { ", …" } else { "" };
            format!("a mapping ({}{more})", keys.join(", "))
        }
    }
}

/// A key as the file shows it: a string without its JSON quotes.
fn key(k: &Val) -> String {
    match k {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        _ => k.to_string(),
    }
}

/// `.images[0].newTag` for `["images", 0, "newTag"]`.
pub(crate) fn show_path(p: &Val) -> String {
    let Val::Arr(steps) = p else {
        return printable(&p.to_string(), 80);
    };
    if steps.is_empty() {
        return ".".into();
    }
    let mut out = String::new();
    for s in steps.iter() {
        match s {
            Val::Num(_) => out.push_str(&format!("[{s}]")),
            _ => {
                let k = key(s);
                let plain = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if plain {
                    out.push('.');
                    out.push_str(&k);
                } else {
                    out.push_str(&format!("[{}]", s));
                }
            }
        }
    }
    printable(&out, 120)
}

/// A message on one line whatever the expression held: line breaks and tabs as spaces,
/// other control characters (a terminal's escape sequences) as `?`.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// At most `max` characters, control characters shown as `?`.
fn printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}
