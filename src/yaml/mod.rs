//! Byte-preserving YAML updates: index, value, render, splice.

pub mod index;
pub mod render;
pub mod splice;
pub mod value;

use std::collections::HashMap;

use jaq_json::Val;

use crate::error::{Error, Result};
use index::{Index, Kind, Node};
use render::Layout;

/// A parsed file: the index of every document and each document's value.
pub struct Parsed {
    pub index: Index,
    pub values: Vec<Val>,
    pub layout: Layout,
    /// Anchors' values by the parser's id, which follows their order in the stream.
    pub anchors: HashMap<usize, Val>,
}

/// Checks that the bytes are YAML text: UTF-8, no NUL (a binary file), and hands back the
/// text.
pub fn decode<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str> {
    if bytes.contains(&0) {
        return Err(Error::Yaml {
            file: file.to_string(),
            msg: "this is a binary file (it contains NUL bytes), not YAML".into(),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Yaml {
            file: file.to_string(),
            msg: format!(
                "line {line}: not UTF-8 text (invalid byte at offset {}); convert the file to UTF-8",
                e.valid_up_to()
            ),
        }
    })
}

pub fn parse(src: &str, file: &str) -> Result<Parsed> {
    let index = index::index(src, file)?;
    let mut values = value::Values::new(file);
    let mut vals = Vec::with_capacity(index.docs.len());
    for doc in &index.docs {
        vals.push(match &doc.root {
            Some(root) => values.value(root)?,
            None => Val::Null,
        });
    }
    let layout = detect_layout(src, &index);
    let anchors = values.anchors().clone();
    Ok(Parsed {
        index,
        values: vals,
        layout,
        anchors,
    })
}

/// Learns the file's newline, indentation step and sequence style from its first examples,
/// so that added keys look like their neighbours.
fn detect_layout(src: &str, index: &Index) -> Layout {
    let mut layout = Layout::default();
    if let Some(i) = src.find('\n') {
        if i > 0 && src.as_bytes()[i - 1] == b'\r' {
            layout.newline = "\r\n";
        }
    }
    let col = |pos: usize| pos - src[..pos].rfind('\n').map_or(0, |n| n + 1);
    let (mut step, mut indentless) = (None, None);
    let mut stack: Vec<&Node> = index.docs.iter().filter_map(|d| d.root.as_ref()).collect();
    while let Some(node) = stack.pop() {
        if step.is_some() && indentless.is_some() {
            break;
        }
        match &node.kind {
            Kind::Map {
                flow: false,
                entries,
            } => {
                for e in entries {
                    let key_col = col(e.key.start);
                    match &e.value.kind {
                        Kind::Map { flow: false, .. } if step.is_none() => {
                            let c = col(e.value.body);
                            if c > key_col {
                                step = Some(c - key_col);
                            }
                        }
                        Kind::Seq { flow: false, items } if indentless.is_none() => {
                            if let Some(first) = items.first() {
                                indentless = Some(col(first.dash) == key_col);
                            }
                        }
                        _ => {}
                    }
                }
                stack.extend(entries.iter().rev().map(|e| &e.value));
            }
            Kind::Seq { items, .. } => stack.extend(items.iter().rev().map(|i| &i.node)),
            _ => {}
        }
    }
    layout.step = step.unwrap_or(2);
    layout.indentless = indentless.unwrap_or(false);
    layout
}

/// The result of splicing: the new text, and notes for stderr (aliases that follow an edited
/// anchor).
pub struct Spliced {
    pub text: String,
    pub notes: Vec<String>,
}

/// Writes each document's new value into the text, then re-reads the result and checks that
/// every document reads back as its target. Any difference is an error: nothing is written.
pub fn splice(src: &str, file: &str, parsed: &Parsed, targets: &[Val]) -> Result<Spliced> {
    let layout = &parsed.layout;
    let mut walker = splice::Walker::new(src, file, layout, &parsed.anchors, false);
    let mut extra = Vec::new();
    for ((doc, old), new) in parsed.index.docs.iter().zip(&parsed.values).zip(targets) {
        match &doc.root {
            Some(root) => walker.root(root, old, new)?,
            None if matches!(new, Val::Null) => {}
            None => {
                // A stream with no document (empty, or only comments): append one.
                let nl = layout.newline;
                let text = render::document(new, layout);
                let lead = if src.is_empty() || src.ends_with('\n') {
                    ""
                } else {
                    nl
                };
                extra.push(splice::Edit {
                    start: src.len(),
                    end: src.len(),
                    text: format!("{lead}{text}"),
                });
            }
        }
    }
    let changed = walker.changed_anchors();
    let notes = std::mem::take(&mut walker.notes);
    let mut edits = std::mem::take(&mut walker.edits);
    edits.extend(extra);
    if edits.is_empty() {
        return Ok(Spliced {
            text: src.to_string(),
            notes,
        });
    }
    let text = splice::apply(src, edits)?;
    verify(&text, file, targets, changed)?;
    Ok(Spliced { text, notes })
}

fn verify(
    text: &str,
    file: &str,
    targets: &[Val],
    changed: std::collections::HashMap<usize, Val>,
) -> Result<()> {
    let fail = |why: String| {
        Error::Refused {
        file: file.to_string(),
        msg: format!(
            "the edited file would not read back as the expression's result ({why}); nothing was written. This is a gitops-update limitation: please report it with the file and expression"
        ),
    }
    };
    let reparsed = parse(text, file).map_err(|e| fail(format!("re-parse failed: {e}")))?;
    if reparsed.values.len() != targets.len() {
        return Err(fail("the number of documents changed".into()));
    }
    let mut walker = splice::Walker::new(text, file, &reparsed.layout, &reparsed.anchors, true)
        .with_changed_anchors(changed);
    for ((doc, got), want) in reparsed
        .index
        .docs
        .iter()
        .zip(&reparsed.values)
        .zip(targets)
    {
        match &doc.root {
            Some(root) => walker.root(root, got, want)?,
            None if matches!(want, Val::Null) => {}
            None => return Err(fail("a document is missing".into())),
        }
        if let Some(at) = walker.mismatch.take() {
            return Err(fail(format!("at {at}")));
        }
    }
    Ok(())
}
