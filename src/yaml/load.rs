//! The jq input: each document's value read straight from the parser's events, typed by
//! the core schema, with aliases and `<<` merge keys expanded (jq sees what a YAML reader
//! sees); along a reach, only what the program can see, the rest digested. The verifier
//! reads an edited file back with the same loader.

use std::collections::{HashMap, HashSet};

use jaq_json::Val;
use saphyr_parser::{Event, ScalarStyle, Span};

use super::digest::{feed, feed_label, outside_reach, Digester};
use super::events::{Ev, Events};
use super::index::{Kind, Node};
use super::render::Layout;
use super::schema::{key_text, scalar, scalar_in};
use super::text::{col, display_tag, find_dash, is_flow, skip_props};
use crate::error::{Error, Result};
use crate::path::PathTrie;

/// Every document's value, the anchors' values, and the file's layout.
pub(super) struct Loaded {
    pub values: Vec<Val>,
    pub anchors: HashMap<usize, Val>,
    pub layout: Layout,
}

/// Reads every document's value straight from the parser's events: no node tree is kept,
/// so memory is the values themselves.
pub(super) fn load(src: &str, file: &str) -> Result<Loaded> {
    let mut l = Loader::new(src, file);
    let mut values = Vec::new();
    loop {
        let (ev, _) = l.ev.next_event()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let root = l.ev.next_event()?;
                values.push(l.value(root, None)?);
            }
            other => return Err(Error::Internal(format!("unexpected YAML event {other:?}"))),
        }
    }
    if values.is_empty() {
        values.push(Val::Null);
    }
    let layout = l.layout(src);
    Ok(Loaded {
        values,
        anchors: l.anchors,
        layout,
    })
}

pub(super) struct Loader<'a> {
    pub(super) ev: Events<'a>,
    pub(super) anchors: HashMap<usize, Val>,
    /// The text of every anchored scalar, for its aliases used as keys (`*k : v`): a key is
    /// a string in jq, whatever the scalar resolves to as a value.
    scalar_texts: HashMap<usize, String>,
    /// Nodes read so far, those reached through aliases counted again each time (the
    /// document as jq sees it), and how many nodes each anchor stands for.
    nodes: u64,
    through_aliases: u64,
    anchor_sizes: HashMap<usize, u64>,
    /// What the file's first examples say about its layout.
    step: Option<usize>,
    indentless: Option<bool>,
    /// Loading along a reach: aliases are refused (an alias may lead out of the reach), and
    /// what the placeholders stand for is digested.
    pub(super) digest: Option<Digester>,
    /// Keys read so far, shared: a values file repeats a few dozen keys thousands of times,
    /// and each key on its own costs several allocations. Capped, for files of unique keys.
    keys: HashMap<Box<str>, Val, foldhash::fast::RandomState>,
    strings: Strings,
}

/// A document's strings, copied into shared chunks rather than into an allocation each:
/// most strings of a values file are a few bytes, and an allocation of their own costs more
/// than their text (the allocator's header and rounding). A chunk is freed with the last
/// string in it.
#[derive(Default)]
struct Strings(bytes::BytesMut);

const CHUNK: usize = 64 * 1024;

impl Strings {
    fn text(&mut self, s: &str) -> Val {
        if s.len() > CHUNK / 16 {
            return Val::from(s.to_string());
        }
        if self.0.capacity() - self.0.len() < s.len() {
            self.0 = bytes::BytesMut::with_capacity(CHUNK);
        }
        self.0.extend_from_slice(s.as_bytes());
        Val::utf8_str(self.0.split().freeze())
    }
}

/// Distinct keys shared at most, and the longest shared.
const SHARED_KEYS: usize = 4096;
const SHARED_KEY_LEN: usize = 64;

/// The layout from what the file's first examples say (see `Loader`).
pub(super) fn layout_of(src: &str, step: Option<usize>, indentless: Option<bool>) -> Layout {
    let mut layout = Layout::default();
    if let Some(i) = src.find('\n') {
        if i > 0 && src.as_bytes()[i - 1] == b'\r' {
            layout.newline = "\r\n";
        }
    }
    layout.step = step.unwrap_or(2);
    layout.indentless = indentless.unwrap_or(false);
    layout
}

impl<'a> Loader<'a> {
    pub(super) fn new(src: &'a str, file: &'a str) -> Self {
        Loader {
            ev: Events::new(src, file),
            anchors: HashMap::new(),
            scalar_texts: HashMap::new(),
            nodes: 0,
            through_aliases: 0,
            anchor_sizes: HashMap::new(),
            step: None,
            indentless: None,
            digest: None,
            keys: HashMap::default(),
            strings: Strings::default(),
        }
    }

    pub(super) fn pruned(src: &'a str, file: &'a str) -> Self {
        let mut l = Loader::new(src, file);
        l.digest = Some(Digester::new());
        l
    }

    fn layout(&self, src: &str) -> Layout {
        layout_of(src, self.step, self.indentless)
    }

    fn err(&self, line: usize, msg: impl std::fmt::Display) -> Error {
        Error::Yaml {
            file: self.ev.file.to_string(),
            msg: format!("line {line}: {msg}"),
        }
    }

    /// A node's value. `key_col` is the column of the key when the node is the value of a
    /// block mapping entry, which is where the layout is learnt.
    pub(super) fn value(&mut self, (event, span): Ev<'a>, key_col: Option<usize>) -> Result<Val> {
        let src = self.ev.src;
        let (start, end) = self.ev.bytes(&span);
        let nodes_before = self.nodes;
        if self.digest.is_some() && matches!(event, Event::Alias(_)) {
            return Err(outside_reach());
        }
        if let Event::Alias(id) = event {
            let size = self.anchor_sizes.get(&id).copied().unwrap_or(1);
            self.expand(size, span.start.line(), &src[start..end.max(start)])?;
        } else {
            self.nodes += 1;
        }
        let (v, anchor) = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                if anchor != 0 {
                    self.scalar_texts.insert(anchor, value.to_string());
                }
                let strings = &mut self.strings;
                let v = scalar_in(&value, style, tag.as_deref(), &mut |s| strings.text(s));
                (v, anchor)
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned();
                (
                    v.ok_or_else(|| self.err(span.start.line(), "alias to an unknown anchor"))?,
                    0,
                )
            }
            Event::SequenceStart(anchor, _) => {
                (self.sequence(is_flow(src, start, end), key_col)?, anchor)
            }
            Event::MappingStart(anchor, _) => {
                let flow = is_flow(src, start, end);
                if !flow && self.step.is_none() {
                    self.learn_step(key_col, start, end);
                }
                (self.mapping(flow)?, anchor)
            }
            other => return Err(Error::Internal(format!("unexpected YAML event {other:?}"))),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, v.clone());
            self.anchor_sizes.insert(anchor, self.nodes - nodes_before);
        }
        Ok(v)
    }

    /// A sequence's items, after its start event.
    fn sequence(&mut self, flow: bool, key_col: Option<usize>) -> Result<Val> {
        let mut out = Vec::new();
        loop {
            let ev = self.ev.next_event()?;
            if let Event::SequenceEnd = ev.0 {
                break;
            }
            if out.is_empty() && !flow && self.indentless.is_none() {
                self.learn_indentless(key_col, &ev.1);
            }
            out.push(self.value(ev, None)?);
        }
        // The document's values live until the output is verified: without the
        // growth slack (pushing doubles the room).
        out.shrink_to_fit();
        Ok(Val::Arr(out.into()))
    }

    /// From the first item of a block sequence that is the value of the key at `key_col`:
    /// whether the file writes sequences indentless (the dash at the key's column).
    fn learn_indentless(&mut self, key_col: Option<usize>, item: &Span) {
        if let Some(kc) = key_col {
            let src = self.ev.src;
            let item = self.ev.byte(item.start.index());
            let dash = find_dash(src, item);
            self.indentless = Some(col(src, dash) == kc);
        }
    }

    /// From a block mapping (spanning `start..end`) that is the value of the key at
    /// `key_col`: the file's indentation step.
    fn learn_step(&mut self, key_col: Option<usize>, start: usize, end: usize) {
        if let Some(kc) = key_col {
            let src = self.ev.src;
            let c = col(src, skip_props(src, start, end));
            if c > kc {
                self.step = Some(c - kc);
            }
        }
    }

    /// Counts an alias's expansion, and refuses a document whose aliases make it far larger
    /// than its text (the billion-laughs shape), by go-yaml's rule: beyond 1,000 nodes and
    /// 100 through aliases, the share reached through aliases may be 99% up to 400,000
    /// nodes, falling to 10% at 4,000,000. Ordinary reuse (a block merged a few times) is
    /// far inside it; a bomb crosses it within its first levels, before it costs anything.
    fn expand(&mut self, size: u64, line: usize, alias: &str) -> Result<()> {
        self.nodes = self.nodes.saturating_add(size);
        self.through_aliases = self.through_aliases.saturating_add(size);
        let n = self.nodes as f64;
        let allowed = if n <= 400_000.0 {
            0.99
        } else if n >= 4_000_000.0 {
            0.10
        } else {
            0.99 - 0.89 * (n - 400_000.0) / 3_600_000.0
        };
        if self.through_aliases > 100
            && self.nodes > 1000
            && self.through_aliases as f64 / n > allowed
        {
            return Err(self.err(
                line,
                format!(
                    "the alias {alias} expands the document to {} values, {} of them through aliases (an alias bomb?); expand fewer aliases, or nest them less deeply",
                    self.nodes, self.through_aliases
                ),
            ));
        }
        Ok(())
    }

    /// A mapping's entries, after its start event.
    fn mapping(&mut self, flow: bool) -> Result<Val> {
        let src = self.ev.src;
        let mut map = jaq_json::Map::default();
        // The line of each key, by its position in `map`, for duplicate-key messages.
        let mut lines: Vec<usize> = Vec::new();
        let mut merged = Vec::new();
        let mut line = 0;
        loop {
            let (event, span) = self.ev.next_event()?;
            line = span.start.line().max(line);
            if let Event::MappingEnd = event {
                break;
            }
            let key_col = (!flow).then(|| col(src, self.ev.byte(span.start.index())));
            let Key { key, merge, empty } = self.key((event, span))?;
            let value = self.ev.next_event()?;
            let v = self.value(value, key_col)?;
            if merge {
                merged.push(v);
                continue;
            }
            if empty && map.contains_key(&key) {
                // Several empty keys (`: a` then `: b`, valid YAML): jq's object can hold one,
                // the first; the splice refuses to edit such a mapping.
                continue;
            }
            let (i, before) = map.insert_full(key, v);
            if before.is_some() {
                return Err(self.duplicate_key(&map, i, lines[i], span.start.line()));
            }
            lines.push(span.start.line());
        }
        self.merge(&mut map, merged, line)?;
        map.shrink_to_fit();
        Ok(Val::obj(map))
    }

    /// The error for a key written twice: the `i`th of `map`, first at line `first`.
    fn duplicate_key(&self, map: &jaq_json::Map, i: usize, first: usize, line: usize) -> Error {
        let key = map
            .get_index(i)
            .map(|(k, _)| key_text(k))
            .unwrap_or_default();
        self.err(
            line,
            format!("duplicate key `{key}` (first defined at line {first}); remove one of them"),
        )
    }

    /// Adds what the `<<` merge keys of a mapping (`merged`, their values) bring in.
    /// `line`: the last line read, for the message.
    fn merge(&self, map: &mut jaq_json::Map, merged: Vec<Val>, line: usize) -> Result<()> {
        // Local keys win over merged ones, and earlier merge sources over later ones.
        for m in merged {
            let sources = match m {
                Val::Arr(a) => a.as_ref().clone(),
                other => vec![other],
            };
            for source in sources {
                let Val::Obj(o) = source else {
                    return Err(self.err(
                        line,
                        "a `<<` merge key needs a mapping or a list of mappings",
                    ));
                };
                for (k, v) in o.iter() {
                    if !map.contains_key(k) {
                        map.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// A mapping key as jq sees it: a scalar is its text (keys are strings in jq), an alias
    /// the text of its anchored scalar, a collection (a complex key, `? [a]`) its value.
    pub(super) fn key(&mut self, (event, span): Ev<'a>) -> Result<Key> {
        if self.digest.is_some() && !matches!(event, Event::Scalar(..)) {
            return Err(outside_reach());
        }
        if let Event::Scalar(..) = event {
            self.nodes += 1;
        }
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let merge = style == ScalarStyle::Plain && value == "<<";
                let empty = style == ScalarStyle::Plain && value.is_empty() && tag.is_none();
                if anchor != 0 {
                    // An anchored key can be aliased as a value (`- &k a: 1` then `- *k`).
                    let tag = tag.map(|t| display_tag(&t));
                    let strings = &mut self.strings;
                    let v = scalar_in(&value, style, tag.as_deref(), &mut |s| strings.text(s));
                    self.anchors.insert(anchor, v);
                    self.scalar_texts.insert(anchor, value.to_string());
                }
                let key = match self.keys.get(value.as_ref()) {
                    Some(k) => k.clone(),
                    None => {
                        let k = self.strings.text(&value);
                        if self.keys.len() < SHARED_KEYS && value.len() <= SHARED_KEY_LEN {
                            self.keys.insert(value.as_ref().into(), k.clone());
                        }
                        k
                    }
                };
                Ok(Key { key, merge, empty })
            }
            Event::Alias(id) if self.scalar_texts.contains_key(&id) => Ok(Key {
                key: Val::from(self.scalar_texts[&id].clone()),
                merge: false,
                empty: false,
            }),
            event => Ok(Key {
                key: self.value((event, span), None)?,
                merge: false,
                empty: false,
            }),
        }
    }
}

/// A mapping key, read.
pub(super) struct Key {
    pub(super) key: Val,
    /// `<<`, the merge key.
    pub(super) merge: bool,
    /// A plain empty key (`: v`, `? `), which a mapping may have more than once.
    pub(super) empty: bool,
}

impl<'a> Loader<'a> {
    /// Reads past a node that the program cannot reach, digesting it with its place (a key,
    /// an index) and learning the layout from it as `value` would.
    pub(super) fn skip_child(
        &mut self,
        place: &[u8],
        ev: Ev<'a>,
        key_col: Option<usize>,
    ) -> Result<()> {
        if let Some(h) = self.digest.as_mut() {
            feed_label(h, place);
        }
        self.skip(ev, key_col)
    }

    fn skip(&mut self, (event, span): Ev<'a>, key_col: Option<usize>) -> Result<()> {
        let src = self.ev.src;
        self.feed(&event);
        match event {
            Event::Scalar(..) => Ok(()),
            Event::SequenceStart(..) => {
                let (start, end) = self.ev.bytes(&span);
                self.skip_sequence(is_flow(src, start, end), key_col)
            }
            Event::MappingStart(..) => {
                let (start, end) = self.ev.bytes(&span);
                let flow = is_flow(src, start, end);
                if !flow && self.step.is_none() {
                    self.learn_step(key_col, start, end);
                }
                self.skip_mapping(flow)
            }
            _ => Err(outside_reach()),
        }
    }

    /// `skip` for a sequence's items, after its start event.
    fn skip_sequence(&mut self, flow: bool, key_col: Option<usize>) -> Result<()> {
        let mut first = true;
        loop {
            let ev = self.ev.next_event()?;
            if let Event::SequenceEnd = ev.0 {
                self.feed(&ev.0);
                return Ok(());
            }
            if first && !flow && self.indentless.is_none() {
                self.learn_indentless(key_col, &ev.1);
            }
            first = false;
            self.skip(ev, None)?;
        }
    }

    /// `skip` for a mapping's entries, after its start event.
    fn skip_mapping(&mut self, flow: bool) -> Result<()> {
        let src = self.ev.src;
        // Keys are checked for duplicates, which the whole load refuses.
        let mut keys: HashSet<std::borrow::Cow<'a, str>> = HashSet::new();
        loop {
            let (event, span) = self.ev.next_event()?;
            if let Event::MappingEnd = event {
                self.feed(&event);
                return Ok(());
            }
            let key_col = (!flow).then(|| col(src, self.ev.byte(span.start.index())));
            self.feed(&event);
            let Event::Scalar(text, style, _, tag) = event else {
                return Err(outside_reach());
            };
            let plain = style == ScalarStyle::Plain;
            if plain && text == "<<" {
                return Err(outside_reach());
            }
            let empty = plain && text.is_empty() && tag.is_none();
            if !keys.insert(text) && !empty {
                return Err(outside_reach());
            }
            let value = self.ev.next_event()?;
            self.skip(value, key_col)?;
        }
    }

    pub(super) fn feed(&mut self, event: &Event) {
        if let Some(h) = self.digest.as_mut() {
            feed(h, event);
        }
    }

    pub(super) fn finish(&mut self) -> u128 {
        self.digest.take().map(Digester::finish).unwrap_or_default()
    }
}

/// A value from nodes indexed along a reach (`index_reach`): as `Loader::value` reads it
/// where the trie keeps the node's children, `null` for each child it does not keep.
pub(super) fn value_of(node: &Node, keep: &PathTrie) -> Result<Val> {
    Ok(match &node.kind {
        Kind::Scalar { value, style } => scalar(value, *style, node.tag.as_deref()),
        Kind::Seq { items, .. } => {
            let keep = if keep.fits_seq() {
                keep
            } else {
                PathTrie::everything()
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(match keep.item(i) {
                    Some(t) => value_of(&item.node, t)?,
                    None => Val::Null,
                });
            }
            Val::Arr(out.into())
        }
        Kind::Map { entries, .. } => {
            let keep = if keep.fits_map() {
                keep
            } else {
                PathTrie::everything()
            };
            let mut map = jaq_json::Map::default();
            for e in entries {
                let Kind::Scalar { value: k, .. } = &e.key.kind else {
                    return Err(outside_reach());
                };
                let v = match keep.key(k) {
                    Some(t) => value_of(&e.value, t)?,
                    None => Val::Null,
                };
                map.insert(Val::from(k.clone()), v);
            }
            Val::obj(map)
        }
        Kind::Alias(_) => return Err(outside_reach()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_learns_the_layout() {
        let l = load("a:\n    b:\n    - x\n", "t").unwrap().layout;
        assert_eq!((l.step, l.indentless, l.newline), (4, true, "\n"));
        let l = load("a:\r\n  - x\r\n", "t").unwrap().layout;
        assert_eq!((l.step, l.indentless, l.newline), (2, false, "\r\n"));
    }
}
