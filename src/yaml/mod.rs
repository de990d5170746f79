//! Byte-preserving YAML updates.
//!
//! `load` reads each document's value straight from the parser's events (the jq input).
//! After evaluation, `splice` indexes only the nodes along the paths that changed, turns each
//! difference into a byte edit, applies the edits, and reads the result back event by event
//! to check it against the expression's result. Memory and work follow the size of the
//! change, apart from the values themselves.

pub(crate) mod comments;
mod digest;
mod events;
pub mod index;
mod load;
pub(crate) mod render;
pub mod schema;
mod splice;
pub mod style;
mod text;
mod verify;

use std::collections::{HashMap, HashSet};

use jaq_json::Val;

use crate::error::{Error, Result};
use crate::path::PathTrie;
use index::Keep;
use render::Layout;
use schema::same;

/// A loaded file: each document's value, the anchors' values and the file's layout.
pub struct Parsed {
    pub values: Vec<Val>,
    pub(crate) layout: Layout,
    /// Anchors' values by the parser's id, which follows their order in the stream.
    pub(crate) anchors: HashMap<usize, Val>,
    /// Set when the values were loaded along a reach: what verifying along it needs.
    along: Option<verify::Along>,
    /// The index made while loading along a reach, which the splice then needs not make.
    index: Option<index::Index>,
    /// The text's length, for the output budget as results are made.
    pub(crate) src_len: usize,
}

impl Parsed {
    /// Whether the values were loaded along a reach, without what it cannot reach.
    pub(crate) fn is_partial(&self) -> bool {
        self.along.is_some()
    }
}

/// Checks that the bytes are YAML text: UTF-8, no NUL (a binary file), only characters YAML
/// allows and lines that end at `\n`, and hands back the text.
pub fn decode<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str> {
    let refuse = |at: usize, msg: String| Error::Yaml {
        file: file.to_string(),
        msg: format!(
            "line {}: {msg}",
            bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1
        ),
    };
    if bytes.contains(&0) {
        return Err(Error::Yaml {
            file: file.to_string(),
            msg: "this is a binary file (it contains NUL bytes), not YAML".into(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        refuse(
            e.valid_up_to(),
            format!(
                "not UTF-8 text (invalid byte at offset {}); convert the file to UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    // Byte by byte: the text is valid UTF-8, so a character below U+0080 is its byte, and
    // U+0080..U+009F are 0xC2 then that byte.
    for (at, &b) in bytes.iter().enumerate() {
        // YAML reads a carriage return alone as a line break; every line here ends at `\n`.
        // Rather than mis-splice such a file, say so (no editor today writes them).
        if b == b'\r' && bytes.get(at + 1) != Some(&b'\n') {
            return Err(refuse(at, "a carriage return without a line feed (an old Mac line ending); convert the file to LF or CRLF line endings".into()));
        }
        // YAML allows only printable characters (tab, line breaks and NEL aside); libyaml
        // and go-yaml refuse the rest, and so does this, rather than splice around them.
        let control = match b {
            0x01..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x7f => Some(u32::from(b)),
            0xc2 => match bytes.get(at + 1) {
                Some(&n @ 0x80..=0x9f) if n != 0x85 => Some(u32::from(n)),
                _ => None,
            },
            _ => None,
        };
        if let Some(c) = control {
            return Err(refuse(at, format!(
                "the control character U+{c:04X} is not allowed in YAML; remove it, or write it as an escape in a double-quoted string"
            )));
        }
    }
    Ok(text)
}

pub fn parse(src: &str, file: &str) -> Result<Parsed> {
    let loaded = load::load(src, file)?;
    Ok(Parsed {
        src_len: src.len(),
        values: loaded.values,
        layout: loaded.layout,
        anchors: loaded.anchors,
        along: None,
        index: None,
    })
}

/// Loads only what `reach` covers, with placeholders for the rest; `None` when that cannot
/// be done for this file, which then needs `parse`. Whatever is built from the result must
/// be dropped on any error and redone from `parse`: only `parse` reports errors as they are.
pub(crate) fn parse_reach(src: &str, file: &str, reach: &PathTrie) -> Option<Parsed> {
    if may_alias(src) {
        return None;
    }
    let pruned = index::index_reach(src, file, reach).ok()?;
    let values = pruned
        .index
        .docs
        .iter()
        .map(|d| match &d.root {
            Some(root) => load::value_of(root, reach),
            None => Ok(Val::Null),
        })
        .collect::<Result<Vec<_>>>()
        .ok()?;
    Some(Parsed {
        src_len: src.len(),
        values,
        layout: load::layout_of(src, pruned.step, pruned.indentless),
        // Aliases and merge keys are refused along a reach: no anchor is looked up.
        anchors: HashMap::new(),
        along: Some(verify::Along {
            reach: reach.clone(),
            digest: pruned.digest,
            syncs: pruned.syncs,
        }),
        index: Some(pruned.index),
    })
}

/// The first sync point past every edit and every changed entry of the root, as an offset
/// in the edited text, with the digest the verifier must have there. Everything from it on
/// is the old text unchanged, and the expression's result there is the old value.
fn sync_point<'p>(
    parsed: &'p Parsed,
    index: &index::Index,
    tries: &[Option<PathTrie>],
    edits: &[splice::Edit],
) -> Option<(usize, &'p digest::Digester)> {
    let (Some(root), [Some(trie)]) = (index.docs.first()?.root.as_ref(), tries) else {
        return None;
    };
    let index::Kind::Map { entries, .. } = &root.kind else {
        return None;
    };
    // The last byte the edits touch, and the last entry whose value changed.
    let mut past = edits.iter().map(|e| e.end.max(e.start)).max()?;
    for e in entries {
        if let index::Kind::Scalar { value, .. } = &e.key.kind {
            if trie.key(value).is_some() {
                past = past.max(e.value.end.max(e.key.end));
            }
        }
    }
    let (at, digest) = parsed
        .along
        .as_ref()?
        .syncs
        .iter()
        .find(|(at, _)| *at > past)?;
    let added: usize = edits.iter().map(|e| e.text.len()).sum();
    let removed: usize = edits.iter().map(|e| e.end - e.start).sum();
    Some(((at + added).checked_sub(removed)?, digest))
}

/// The last sync point before every edit and every root entry the program can reach: the
/// verifier may begin there (`verify::Resume`). Only for one block-mapping document at
/// column 0 with no directives, whose text before the point reads the same on its own:
/// there the tail parses alone as the rest of the root mapping.
fn resume_point<'p>(
    src: &str,
    parsed: &'p Parsed,
    index: &index::Index,
    tries: &[Option<PathTrie>],
    edits: &[splice::Edit],
    targets: &[Val],
) -> Option<verify::Resume<'p>> {
    let ([doc], [Some(trie)], [Val::Obj(target)]) = (index.docs.as_slice(), tries, targets) else {
        return None;
    };
    let index::Kind::Map {
        flow: false,
        entries,
        ..
    } = &doc.root.as_ref()?.kind
    else {
        return None;
    };
    if trie.whole || src.starts_with('%') || src.contains("\n%") {
        return None;
    }
    let first = first_reached(entries, trie, edits)?;
    // Past the first key (or nothing is saved), at a line's start.
    let (at, snapshot) = parsed
        .along
        .as_ref()?
        .syncs
        .get(1..)?
        .iter()
        .rev()
        .find(|(at, _)| *at <= first)?;
    if src.as_bytes().get(at.checked_sub(1)?) != Some(&b'\n') {
        return None;
    }
    // The target's first entries are the prefix's, in order, with the values loaded from
    // it (placeholders where nothing is reachable); the rest is the tail's.
    let [Val::Obj(old)] = parsed.values.as_slice() else {
        return None;
    };
    let before = entries.iter().take_while(|e| e.key.start < *at).count();
    if !prefix_unchanged(&entries[..before], old, target) {
        return None;
    }
    if target.len() < before {
        return None;
    }
    let tail = target
        .iter()
        .skip(before)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(verify::Resume {
        at: *at,
        snapshot,
        tail,
    })
}

/// The first byte of a one-document root mapping that an edit touches or whose entry the
/// program can reach; `None` when a key is not a scalar.
fn first_reached(
    entries: &[index::Entry],
    trie: &PathTrie,
    edits: &[splice::Edit],
) -> Option<usize> {
    let mut first = edits.iter().map(|e| e.start.min(e.end)).min()?;
    for e in entries {
        let index::Kind::Scalar { value, .. } = &e.key.kind else {
            return None;
        };
        if trie.key(value).is_some() {
            first = first.min(e.key.start);
        }
    }
    Some(first)
}

/// Whether the target's first entries are `prefix`'s keys, in order, with the values
/// loaded for them (`old`).
fn prefix_unchanged(prefix: &[index::Entry], old: &jaq_json::Map, target: &jaq_json::Map) -> bool {
    for (i, (e, (k, v))) in prefix.iter().zip(target.iter()).enumerate() {
        let index::Kind::Scalar { value, .. } = &e.key.kind else {
            return false;
        };
        match k {
            Val::TStr(name) | Val::BStr(name) if name.as_ref() == value.as_bytes() => {}
            _ => return false,
        }
        if !same_key(old, i, k).is_some_and(|o| same(o, v)) {
            return false;
        }
    }
    true
}

/// Whether the text may hold an alias (`*name` where a node can start) or a merge key: the
/// reach gives up on either, and finding that out at the end of a long file would cost a
/// whole pass for nothing. A `*` inside a plain scalar or a comment after a space is a
/// false alarm, which costs only the fast way.
fn may_alias(src: &str) -> bool {
    let b = src.as_bytes();
    let star = b.iter().enumerate().any(|(i, &c)| {
        c == b'*'
            && (i == 0
                || matches!(
                    b[i - 1],
                    b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':' | b'-' | b'?'
                ))
    });
    star || src.contains("<<")
}

/// The result of splicing: the new text, and notes for stderr (aliases that follow an edited
/// anchor).
pub(crate) struct Spliced {
    pub text: String,
    pub notes: Vec<String>,
}

/// `map.get(k)`, looked for at position `i` first: an update keeps the order of keys, and
/// a mapping of thousands of keys is then compared without hashing each.
fn same_key<'m>(map: &'m jaq_json::Map, i: usize, k: &Val) -> Option<&'m Val> {
    match map.get_index(i) {
        Some((key, v)) if key == k => Some(v),
        _ => map.get(k),
    }
}

/// The paths where `old` and `new` differ: where the splice will look.
fn changed_paths(old: &Val, new: &Val) -> Option<PathTrie> {
    if same(old, new) {
        return None;
    }
    let mut trie = PathTrie::default();
    match (old, new) {
        (Val::Obj(o), Val::Obj(n)) => {
            for (i, (k, ov)) in o.iter().enumerate() {
                let (Some(nv), Val::TStr(key) | Val::BStr(key)) = (same_key(n, i, k), k) else {
                    continue;
                };
                if let Some(child) = changed_paths(ov, nv) {
                    let key = String::from_utf8_lossy(key).into_owned();
                    trie.set_key(key, child);
                }
            }
        }
        (Val::Arr(o), Val::Arr(n)) => {
            for (i, (ov, nv)) in o.iter().zip(n.iter()).enumerate() {
                if let Some(child) = changed_paths(ov, nv) {
                    trie.set_item(i, child);
                }
            }
        }
        _ => {}
    }
    Some(trie)
}

/// The bytes of the strings (keys included) and scalars in `v`: a floor for its YAML text.
pub(crate) fn text_floor(v: &Val) -> usize {
    match v {
        Val::TStr(s) | Val::BStr(s) => s.len(),
        Val::Arr(a) => a.iter().map(text_floor).sum(),
        Val::Obj(o) => o.iter().map(|(k, v)| text_floor(k) + text_floor(v)).sum(),
        _ => 1,
    }
}

/// The bytes of strings (keys included) and scalars that `new` holds where it differs from
/// `old`: whatever the splice writes for them is at least this long.
pub(crate) fn added_floor(old: &Val, new: &Val) -> usize {
    let size = text_floor;
    if same(old, new) {
        return 0;
    }
    match (old, new) {
        (Val::Obj(o), Val::Obj(n)) => n
            .iter()
            .enumerate()
            .map(|(i, (k, nv))| match same_key(o, i, k) {
                Some(ov) => added_floor(ov, nv),
                None => size(k) + size(nv),
            })
            .sum(),
        (Val::Arr(o), Val::Arr(n)) => n
            .iter()
            .enumerate()
            .map(|(i, nv)| o.get(i).map_or_else(|| size(nv), |ov| added_floor(ov, nv)))
            .sum(),
        _ => size(new),
    }
}

/// The verify step reads the result as YAML 1.2; a YAML 1.1 reader (go-yaml, libyaml) would
/// also break lines at U+0085, U+2028 and U+2029, so new text holding one raw would read
/// differently there: a policy that allows `.config` could be passed by a value that
/// go-yaml reads as new keys. The writer escapes them; this catches a writer that does not.
fn refuse_yaml_1_1_breaks(file: &str, edits: &[splice::Edit]) -> Result<()> {
    let found = edits
        .iter()
        .find_map(|e| e.text.chars().find(|c| render::YAML_1_1_BREAKS.contains(c)));
    match found {
        None => Ok(()),
        Some(c) => Err(Error::Refused {
            file: file.to_string(),
            msg: format!(
                "the new text would hold U+{:04X} raw, which YAML 1.1 readers (go-yaml, libyaml: Helm, Argo CD, kustomize, Flux) read as a line break and YAML 1.2 does not; nothing was written. This is a gitops-update limitation: please report it with the file and expression",
                c as u32
            ),
        }),
    }
}

/// Writes each document's new value into the text, then reads the result back and checks
/// that every document holds its target. Any difference is an error: nothing is written.
/// `restyles`: the styles the expression asked for, by document (`style::Restyle`); those
/// nodes are written again in that style, changed or not.
pub(crate) fn splice(
    src: &str,
    file: &str,
    parsed: &Parsed,
    targets: &[Val],
    restyles: &[Vec<style::Restyle>],
) -> Result<Spliced> {
    let styles: Vec<style::Resolved> = targets
        .iter()
        .enumerate()
        .map(|(i, new)| style::resolve(restyles.get(i).map_or(&[], Vec::as_slice), new))
        .collect();
    let tries: Vec<Option<PathTrie>> = parsed
        .values
        .iter()
        .zip(targets)
        .zip(&styles)
        .map(|((old, new), styles)| {
            let mut trie = changed_paths(old, new);
            for (path, _) in styles {
                trie.get_or_insert_with(PathTrie::default)
                    .insert(path, false);
            }
            trie
        })
        .collect();
    if tries.iter().all(Option::is_none) {
        return Ok(Spliced {
            text: src.to_string(),
            notes: Vec::new(),
        });
    }
    // A result far past the output budget is refused before anything is rendered: the
    // changed values' own bytes are a floor for the text that writes them.
    let floor: usize = parsed
        .values
        .iter()
        .zip(targets)
        .map(|(old, new)| added_floor(old, new))
        .sum();
    crate::budget::check_output(file, src.len(), floor, true)?;
    let mut made = None;
    let index = match &parsed.index {
        Some(index) => index,
        None => made.insert(index::index(src, file, Keep::Paths(&tries))?),
    };
    let mut walker = splice::Walker::new(src, file, &parsed.layout, &parsed.anchors, index);
    let extra = walk_documents(&mut walker, src, parsed, index, targets, (&tries, &styles))?;
    let changed: HashSet<usize> = walker.changed_anchors();
    let mut notes = std::mem::take(&mut walker.notes);
    notes.extend(walker.alias_notes());
    let mut edits = std::mem::take(&mut walker.edits);
    edits.extend(extra);
    refuse_yaml_1_1_breaks(file, &edits)?;
    check_output_size(file, src, &edits)?;
    let sync = sync_point(parsed, index, &tries, &edits);
    let resume = resume_point(src, parsed, index, &tries, &edits, targets);
    // The index made here holds a node per entry of every changed mapping (all the file's
    // top-level keys for `del(.a)`): it is not needed past this point, and the output text
    // and its verification are where memory peaks.
    drop(walker);
    drop(made);
    let text = splice::apply(src, edits)?;
    let verified = match &parsed.along {
        Some(along) => {
            verify::verify_reach(&text, file, targets, &changed, along, sync, resume.as_ref())
        }
        None => verify::verify(&text, file, targets, &changed),
    };
    match verified {
        Ok(None) => Ok(Spliced { text, notes }),
        Ok(Some(at)) => Err(not_read_back(file, format!("at {at}"))),
        Err(e) => Err(not_read_back(file, format!("re-parse failed: {e}"))),
    }
}

fn not_read_back(file: &str, why: String) -> Error {
    Error::Refused {
        file: file.to_string(),
        msg: format!(
            "the edited file would not read back as the expression's result ({why}); nothing was written. This is a gitops-update limitation: please report it with the file and expression"
        ),
    }
}

/// Walks each document whose value changed; the edits that append a document to a stream
/// with none are returned, the walker holds the rest.
fn walk_documents(
    walker: &mut splice::Walker<'_>,
    src: &str,
    parsed: &Parsed,
    index: &index::Index,
    targets: &[Val],
    (tries, styles): (&[Option<PathTrie>], &[style::Resolved]),
) -> Result<Vec<splice::Edit>> {
    let mut extra = Vec::new();
    for (i, (((doc, old), new), trie)) in index
        .docs
        .iter()
        .zip(&parsed.values)
        .zip(targets)
        .zip(tries)
        .enumerate()
    {
        let Some(trie) = trie else { continue };
        walker.restyle(styles.get(i).map_or(&[], Vec::as_slice));
        match &doc.root {
            Some(root) => walker.root(root, old, new, trie)?,
            None if matches!(new, Val::Null) => {}
            // A stream with no document (empty, or only comments): append one.
            None => extra.push(new_document(src, &parsed.layout, new)),
        }
    }
    Ok(extra)
}

/// The edit that appends a document holding `new` to a stream with none.
fn new_document(src: &str, layout: &Layout, new: &Val) -> splice::Edit {
    let nl = layout.newline;
    let text = render::document(new, layout);
    let lead = if src.is_empty() || src.ends_with('\n') {
        ""
    } else {
        nl
    };
    splice::Edit {
        start: src.len(),
        end: src.len(),
        text: format!("{lead}{text}"),
    }
}

/// The output budget, from the edits' sizes, before the text is built or re-parsed.
fn check_output_size(file: &str, src: &str, edits: &[splice::Edit]) -> Result<()> {
    let added: usize = edits.iter().map(|e| e.text.len()).sum();
    let removed: usize = edits.iter().map(|e| e.end.saturating_sub(e.start)).sum();
    let len = (src.len() + added).saturating_sub(removed);
    crate::budget::check_output(file, src.len(), len, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guarantee along a reach: text the program cannot see must read back as it was.
    #[test]
    fn verifying_along_a_reach_catches_a_change_where_nothing_was_loaded() {
        let reach = crate::expr::reach::reach(r#".image.tag = "2""#).unwrap();
        let src = "image:\n  tag: \"1\"\n  pull: Always\nother:\n  - {a: 1}\n  - b\n";
        let parsed = parse_reach(src, "f", &reach).expect("loads along the reach");
        // What the program cannot reach is not loaded at all: not `other`, not `image.pull`.
        let Val::Obj(root) = &parsed.values[0] else {
            panic!()
        };
        let key = |k: &str| Val::from(k.to_string());
        assert_eq!(root.get(&key("other")), None);
        let Some(Val::Obj(image)) = root.get(&key("image")) else {
            panic!("{root:?}")
        };
        assert_eq!(
            image.keys().cloned().collect::<Vec<_>>(),
            [key("tag")],
            "{image:?}"
        );
        let along = parsed.along.as_ref().unwrap();
        let same = |text: &str| {
            verify::verify_reach(
                text,
                "f",
                &parsed.values,
                &HashSet::new(),
                along,
                None,
                None,
            )
            .unwrap()
        };
        assert_eq!(same(src), None);
        // The same text, reformatted where it is not read: still the same document.
        assert_eq!(same(&src.replace("{a: 1}", "{ a: 1 }")), None);
        for changed in [
            src.replace("{a: 1}", "{a: 2}"),
            src.replace("- b", "- 'b'"),
            src.replace("  - b\n", ""),
            src.replace("pull: Always", "pull: Never"),
            src.replace("other:", "others:"),
        ] {
            assert!(same(&changed).is_some(), "not caught: {changed:?}");
        }
    }

    /// An edit near the end: verification begins at the last sync point before it, reads
    /// only the tail, and still catches a change there; the whole text is read otherwise.
    #[test]
    fn verification_resumes_at_the_sync_point_before_the_edit() {
        let mut src = String::new();
        for i in 0..400 {
            src.push_str(&format!(
                "svc{i}:\n  enabled: true  # on\n  ports: [80, {i}]\n"
            ));
        }
        src.push_str("image:\n  tag: \"1\"\n  pull: Always\nlast: [1, 2]\n");
        let reach = crate::expr::reach::reach(r#".image.tag = "2""#).unwrap();
        let parsed = parse_reach(&src, "f", &reach).unwrap();
        let mut target = parsed.values.clone();
        let Val::Obj(root) = &mut target[0] else {
            panic!()
        };
        let key = |k: &str| Val::from(k.to_string());
        let Some(Val::Obj(image)) = std::rc::Rc::make_mut(root).get_mut(&key("image")) else {
            panic!()
        };
        std::rc::Rc::make_mut(image).insert(key("tag"), key("2"));
        let out = splice(&src, "f", &parsed, &target, &[]).unwrap().text;
        assert_eq!(out, src.replace("tag: \"1\"", "tag: \"2\""));
        let index = parsed.index.as_ref().unwrap();
        let tries: Vec<_> = parsed
            .values
            .iter()
            .zip(&target)
            .map(|(o, n)| changed_paths(o, n))
            .collect();
        let at = src.find("tag: \"1\"").unwrap();
        let edits = [splice::Edit {
            start: at + 5,
            end: at + 8,
            text: "\"2\"".into(),
        }];
        let resume = resume_point(&src, &parsed, index, &tries, &edits, &target).unwrap();
        let image_at = src.find("image:").unwrap();
        assert!(resume.at <= image_at && resume.at + 2 * index::SYNC_EVERY > image_at);
        assert!(
            resume.tail.len() < 110,
            "{} entries in the tail",
            resume.tail.len()
        );
        let along = parsed.along.as_ref().unwrap();
        let tail = |text: &str| {
            verify::verify_tail(text, "f", &HashSet::new(), along, None, &resume).unwrap()
        };
        assert_eq!(tail(&out), None, "the tail alone verifies");
        for changed in [
            out.replace("pull: Always", "pull: Never"),
            out.replace("last: [1, 2]", "last: [1, 3]"),
            out.replace("tag: \"2\"", "tag: \"3\""),
            out.replace("svc399:", "svc39:"),
        ] {
            assert!(
                tail(&changed).is_some(),
                "not caught: {:?}",
                &changed[changed.len() - 80..]
            );
        }
    }

    /// Past the last edit the verifier may stop at a sync point, but only once everything
    /// before it digests as it did: a change between the edit and the sync point is caught.
    #[test]
    fn a_sync_point_ends_verification_only_when_all_before_it_matches() {
        let mut src = String::from("image:\n  tag: \"1\"\n");
        for i in 0..400 {
            src.push_str(&format!(
                "svc{i}:\n  enabled: true  # on\n  ports: [80, {i}]\n"
            ));
        }
        let reach = crate::expr::reach::reach(r#".image.tag = "2""#).unwrap();
        let parsed = parse_reach(&src, "f", &reach).unwrap();
        let along = parsed.along.as_ref().unwrap();
        assert!(along.syncs.len() >= 2, "{} sync points", along.syncs.len());
        let (at, snapshot) = &along.syncs[1];
        let check = |text: &str| {
            let sync = Some((*at, snapshot));
            verify::verify_reach(
                text,
                "f",
                &parsed.values,
                &HashSet::new(),
                along,
                sync,
                None,
            )
            .unwrap()
        };
        assert_eq!(check(&src), None);
        // A change before the sync point (same length, so the point stays where it is).
        let before = src.replacen("ports: [80, 3]", "ports: [81, 3]", 1);
        assert!(src.find("ports: [80, 3]").unwrap() < *at);
        assert!(check(&before).is_some());
        // The sync point really ends the reading: text past it is not read again.
        let mut after = src.clone();
        after.replace_range(src.len() - 12..src.len() - 10, "@@");
        assert_eq!(check(&after), None);
    }

    #[test]
    fn decode_refuses_control_characters_and_lone_carriage_returns() {
        let refused = |text: &str| decode(text.as_bytes(), "f").err().map(|e| e.to_string());
        for ok in ["a: 1\r\nb: 2\r\n", "a: \"\u{85}\u{a0}é\"\n", "a:\tb\n", ""] {
            assert_eq!(refused(ok), None, "{ok:?}");
        }
        for (text, says) in [
            ("a: 1\nb: \u{1}\n", "line 2: the control character U+0001"),
            ("a: \u{7f}\n", "U+007F"),
            ("a: \u{86}\n", "U+0086"),
            ("a: \u{9f}\n", "U+009F"),
            (
                "a: 1\rb: 2\n",
                "line 1: a carriage return without a line feed",
            ),
        ] {
            let msg = refused(text).unwrap_or_default();
            assert!(msg.contains(says), "{text:?}: {msg}");
        }
    }
}
