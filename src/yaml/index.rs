//! The index: the nodes the splice needs, with their byte spans, styles and properties.
//!
//! It is sparse: nodes are kept only along the paths where a document changes (a `PathTrie`),
//! with the direct children of each, so its size follows the change, not the file. Every
//! anchor and alias of the stream is listed compactly, to check that an edit orphans none.
//!
//! saphyr-parser reports positions in characters and its spans have quirks (a quoted
//! scalar's span runs over trailing spaces and a comment; a block scalar's span starts at its
//! body, after the header; block collections end at the next token). Here those are turned
//! into byte offsets that mean exactly what the splice needs: where a node's text starts,
//! where its value starts after any anchor or tag, and where its content ends.

use saphyr_parser::{Event, ScalarStyle};

use std::collections::HashSet;
use std::hash::BuildHasher;

use super::digest::{self, outside_reach, Digester};
use super::events::{Ev, Events};
use super::text::{
    block_content_end, col, colon_after, display_tag, find_block_header, find_dash, flow_close,
    is_flow, line_of, question_mark, quoted_end, skip_props,
};
use crate::error::{Error, Result};
use crate::path::PathTrie;

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// First byte of the node, including an anchor or tag.
    pub start: usize,
    /// First byte of the value itself: after properties; a block scalar's `|`/`>` header;
    /// a block sequence's first `-`; a block mapping's first key.
    pub body: usize,
    /// One past the last byte of content: a quoted scalar's closing quote, a block scalar's
    /// last non-blank line (before its line break), a flow collection's bracket, a block
    /// collection's last child.
    pub end: usize,
    /// 1-based line of `body`, for messages. Lines and anchor ids fit in 32 bits (files
    /// are at most 32 MiB), which keeps a node small: a partly kept mapping holds one per
    /// entry.
    pub line: u32,
    pub anchor: u32,
    pub tag: Option<Box<str>>,
    /// The node ends with a keep-chomped block scalar (`|+`, `>+`), whose value holds the
    /// blank lines after it: what comes after the node goes after those lines.
    pub keeps_blank: bool,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar {
        /// The scalar's text; kept for the keys of kept mappings only (empty otherwise).
        value: String,
        style: ScalarStyle,
    },
    Seq {
        flow: bool,
        items: Vec<Item>,
    },
    Map {
        flow: bool,
        entries: Vec<Entry>,
        /// Along a reach, the entries of a block mapping that no path reaches are not kept,
        /// in the index nor in the loaded value (the program cannot see them): how many.
        skipped: u32,
    },
    Alias(usize),
}

#[derive(Debug, Clone)]
pub struct Item {
    /// The `-` of a block sequence item; the node's start in a flow sequence.
    pub dash: usize,
    pub node: Node,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

#[derive(Debug, Clone)]
pub struct Doc {
    /// `None` for a stream with no document at all (an empty file, or only comments).
    pub root: Option<Node>,
}

/// Where an anchor or an alias stands.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub id: usize,
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

#[derive(Debug, Default)]
pub struct Index {
    pub docs: Vec<Doc>,
    /// Every anchored node's span.
    pub anchors: Vec<Mark>,
    /// Every alias.
    pub aliases: Vec<Mark>,
}

/// Which documents' nodes to keep. A node in a trie keeps its children; a child that is not
/// in the trie is kept without children of its own.
#[derive(Clone, Copy)]
pub enum Keep<'t> {
    /// Every node of every document (tests and tools).
    All,
    /// The nodes along `paths[i]` in document `i`; a document without a trie keeps its root.
    Paths(&'t [Option<PathTrie>]),
}

/// Hashes keys for duplicate checks along a reach: fast, and fixed, since a collision
/// costs only the whole load.
static KEYS: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x9e37_79b9);

/// What indexing along a reach learns besides the nodes: the digest of the text that the
/// placeholders stand for, and the layout, as the loader would learn them.
pub(super) struct Pruning {
    digest: Digester,
    step: Option<usize>,
    indentless: Option<bool>,
    /// The next node built is a document's root.
    root_next: bool,
    /// Where the verifier may stop (see `Pruned::syncs`).
    syncs: Vec<(usize, Digester)>,
}

/// Snapshots of the digest are taken at most this often (in bytes of text) along a root
/// mapping: the verifier reads at most this far past the last edit.
pub(super) const SYNC_EVERY: usize = 4096;

struct Builder<'a> {
    ev: Events<'a>,
    anchors: Vec<Mark>,
    aliases: Vec<Mark>,
    /// Set when indexing along a reach: aliases, merge keys, complex and duplicate keys give
    /// up (the whole load handles them), and skipped text is digested.
    prune: Option<Pruning>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<Ev<'a>> {
        self.ev.next_event()
    }

    /// Builds a node; its children are kept only when `keep` is given, and a scalar's text
    /// only when `text` is set (the splice reads it for keys alone).
    fn node(&mut self, ev: Ev<'a>, keep: Option<&PathTrie>, text: bool) -> Result<Node> {
        self.node_at(ev, keep, text, None)
    }

    /// `node` for the value of a block mapping entry whose key stands at `key_col`, where
    /// the layout is learnt.
    fn node_at(
        &mut self,
        ev: Ev<'a>,
        keep: Option<&PathTrie>,
        text: bool,
        key_col: Option<usize>,
    ) -> Result<Node> {
        let node = self.build(ev, keep, text, key_col)?;
        if node.anchor != 0 {
            self.anchors.push(Mark {
                id: node.anchor as usize,
                start: node.start,
                end: node.end,
                line: node.line as usize,
            });
        }
        if let Kind::Alias(id) = node.kind {
            self.aliases.push(Mark {
                id,
                start: node.start,
                end: node.end,
                line: node.line as usize,
            });
        }
        Ok(node)
    }

    fn feed(&mut self, event: &Event) {
        if let Some(p) = self.prune.as_mut() {
            digest::feed(&mut p.digest, event);
        }
    }

    fn label(&mut self, place: &[u8]) {
        if let Some(p) = self.prune.as_mut() {
            digest::feed_label(&mut p.digest, place);
        }
    }

    fn build<'t>(
        &mut self,
        (event, span): Ev<'a>,
        keep: Option<&'t PathTrie>,
        text: bool,
        key_col: Option<usize>,
    ) -> Result<Node> {
        let (start, span_end) = self.ev.bytes(&span);
        let at = Placed {
            start,
            span_end,
            line: span.start.line(),
            key_col,
        };
        let visit = self.visit(&event, keep, text, &at)?;
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                let copy = text || (visit.pruning && visit.keep.is_some());
                Ok(self.scalar(&value, style, anchor, tag, &at, copy))
            }
            Event::Alias(id) => Ok(Node {
                kind: Kind::Alias(id),
                start,
                body: start,
                end: span_end,
                line: at.line as u32,
                anchor: 0,
                tag: None,
                keeps_blank: false,
            }),
            Event::SequenceStart(anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                self.sequence(anchor, tag, &at, visit)
            }
            Event::MappingStart(anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                self.mapping(anchor, tag, &at, visit)
            }
            other => Err(Error::Internal(format!("unexpected YAML event {other:?}"))),
        }
    }

    /// How a node is built along a reach (see `Visit`), decided from its first event, which
    /// is digested here when the node's events are.
    fn visit<'t>(
        &mut self,
        event: &Event,
        keep: Option<&'t PathTrie>,
        text: bool,
        at: &Placed,
    ) -> Result<Visit<'t>> {
        let Some(p) = self.prune.as_mut() else {
            return Ok(Visit {
                keep,
                pruning: false,
                digested: false,
                partial: false,
                root: false,
                block: false,
            });
        };
        // Along a reach, a collection of the kind the reach does not walk is kept whole
        // (jq reads it whole); a skipped node's events, and a partly kept collection's own,
        // are digested exactly as the loader digests them.
        let keep = match (event, keep) {
            (Event::SequenceStart(..), Some(t)) if !t.whole && !t.fits_seq() => {
                Some(PathTrie::everything())
            }
            (Event::MappingStart(..), Some(t)) if !t.whole && !t.fits_map() => {
                Some(PathTrie::everything())
            }
            (_, k) => k,
        };
        let root = std::mem::take(&mut p.root_next);
        let skipped = keep.is_none() && !text;
        let partial = keep.is_some_and(|t| !t.whole)
            && matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        if matches!(event, Event::Alias(_)) {
            return Err(outside_reach());
        }
        if skipped || partial {
            digest::feed(&mut p.digest, event);
        }
        Ok(Visit {
            keep,
            pruning: true,
            digested: skipped || partial,
            partial,
            root,
            block: !is_flow(self.ev.src, at.start, at.span_end),
        })
    }

    /// A scalar's node; its text is copied only when `copy` is set.
    fn scalar(
        &self,
        value: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<String>,
        at: &Placed,
        copy: bool,
    ) -> Node {
        let src = self.ev.src;
        let props = tag.is_some() || anchor != 0;
        // The event says whether there are properties: a block scalar's span starts at
        // its body, which may itself begin with `!` or `&` (`|\n  !text`).
        let props_end = if props {
            skip_props(src, at.start, at.span_end)
        } else {
            at.start
        };
        let (body, end) = scalar_extent(src, value, style, at, props_end, props);
        Node {
            kind: Kind::Scalar {
                // Copied to its own length: the parser's string has room to spare,
                // and a partly kept mapping keeps a key per entry.
                value: if copy {
                    value.to_owned()
                } else {
                    String::new()
                },
                style,
            },
            // Without properties a block scalar's span starts after its header.
            start: at.start.min(body),
            body,
            end,
            line: line_of(src, body, at.line, at.start) as u32,
            anchor: anchor as u32,
            tag: tag.map(String::into_boxed_str),
            keeps_blank: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                && src[body..]
                    .split([' ', '\t', '\n', '\r'])
                    .next()
                    .is_some_and(|h| h.contains('+')),
        }
    }

    /// A sequence's items, after its start event.
    fn sequence(
        &mut self,
        anchor: usize,
        tag: Option<String>,
        at: &Placed,
        visit: Visit,
    ) -> Result<Node> {
        let src = self.ev.src;
        let props_end = skip_props(src, at.start, at.span_end);
        let flow = src.as_bytes().get(props_end) == Some(&b'[');
        let mut items = Vec::new();
        let (mut first_dash, mut last_end) = (None, None);
        let mut keeps_blank = false;
        let mut i = 0;
        let end = loop {
            let ev = self.next()?;
            if let Event::SequenceEnd = ev.0 {
                break self.close(&ev, visit, flow, props_end, last_end);
            }
            let child_keep = visit.keep.and_then(|t| t.item(i));
            if i == 0 {
                self.learn_indentless(&ev, visit, at.key_col);
            }
            if visit.partial && child_keep.is_none() {
                self.label(&i.to_le_bytes());
            }
            let mut node = self.node(ev, child_keep, false)?;
            let dash = if flow {
                node.start
            } else {
                find_dash(src, node.start)
            };
            if !flow && node.start == node.end {
                // An empty item: a value goes right after its dash.
                (node.start, node.body, node.end) = (dash + 1, dash + 1, dash + 1);
            }
            first_dash.get_or_insert(dash);
            last_end = Some(node.end);
            keeps_blank = !flow && node.keeps_blank;
            if visit.keep.is_some() {
                items.push(Item { dash, node });
            }
            i += 1;
        };
        without_slack(&mut items);
        let body = if flow {
            props_end
        } else {
            first_dash.unwrap_or(props_end)
        };
        let kind = Kind::Seq { flow, items };
        Ok(collection(
            src,
            at,
            (anchor, tag),
            kind,
            body..end,
            keeps_blank,
        ))
    }

    /// A mapping's entries, after its start event.
    fn mapping(
        &mut self,
        anchor: usize,
        tag: Option<String>,
        at: &Placed,
        visit: Visit,
    ) -> Result<Node> {
        let src = self.ev.src;
        let props_end = skip_props(src, at.start, at.span_end);
        let flow = src.as_bytes().get(props_end) == Some(&b'{');
        self.learn_step(visit, at.key_col, props_end);
        let mut entries: Vec<Entry> = Vec::new();
        let mut unkept = 0u32;
        let (mut first_key, mut last_end) = (None, None);
        let mut keeps_blank = false;
        // Along a reach, the keys' hashes, for duplicates: the whole load names them,
        // and a mere collision only sends the file there too.
        let mut seen: HashSet<u64> = Default::default();
        let end = loop {
            let ev = self.next()?;
            if let Event::MappingEnd = ev.0 {
                break self.close(&ev, visit, flow, props_end, last_end);
            }
            let (entry, child_kept) = self.entry(ev, visit, flow, &mut seen)?;
            first_key.get_or_insert(entry.key.start);
            last_end = Some(entry.value.end.max(entry.key.end));
            keeps_blank = !flow && entry.value.keeps_blank;
            if visit.keep.is_some() && (child_kept || !visit.pruning || flow) {
                entries.push(entry);
            } else if visit.keep.is_some() {
                unkept += 1;
            }
        };
        without_slack(&mut entries);
        let body = if flow {
            props_end
        } else {
            first_key.unwrap_or(props_end)
        };
        let kind = Kind::Map {
            flow,
            entries,
            skipped: unkept,
        };
        Ok(collection(
            src,
            at,
            (anchor, tag),
            kind,
            body..end,
            keeps_blank,
        ))
    }

    /// One entry of a mapping, from its key's event; and whether its value's children are
    /// kept.
    fn entry(
        &mut self,
        ev: Ev<'a>,
        visit: Visit,
        flow: bool,
        seen: &mut HashSet<u64>,
    ) -> Result<(Entry, bool)> {
        let src = self.ev.src;
        let key_at = self.ev.byte(ev.1.start.index());
        let entry_col = visit.block.then(|| col(src, key_at));
        if visit.root && visit.partial && visit.block {
            self.sync_point(key_at);
        }
        if visit.pruning {
            refuse_key(&ev.0, visit.keep.is_some(), seen)?;
        }
        let key = self.node(ev, None, visit.keep.is_some())?;
        // Merge sources are kept whole: the splice reads their keys.
        let child_keep = match (&key.kind, visit.keep) {
            (_, None) => None,
            (
                Kind::Scalar {
                    value,
                    style: ScalarStyle::Plain,
                    ..
                },
                Some(_),
            ) if value == "<<" => Some(PathTrie::everything()),
            (Kind::Scalar { value, .. }, Some(t)) => t.key(value),
            (_, Some(_)) => None,
        };
        let next = self.next()?;
        if visit.partial && child_keep.is_none() {
            if let Kind::Scalar { value, .. } = &key.kind {
                self.label(value.as_bytes());
            }
        }
        let mut value = self.node_at(next, child_keep, false, entry_col)?;
        if value.start == value.end {
            place_empty_value(src, &key, &mut value, flow);
        }
        Ok((Entry { key, value }, child_keep.is_some()))
    }

    /// Where a collection ends, from its end event (digested when the collection's events
    /// are).
    fn close(
        &mut self,
        (event, span): &Ev<'a>,
        visit: Visit,
        flow: bool,
        props_end: usize,
        last_end: Option<usize>,
    ) -> usize {
        if visit.digested {
            self.feed(event);
        }
        let e = self.ev.byte(span.end.index());
        // The end event of a flow collection with a trailing comma
        // (`[1,]`) stops before its bracket.
        if flow {
            let src = self.ev.src;
            flow_close(src, props_end, src.len()).unwrap_or(e).max(e)
        } else {
            last_end.unwrap_or(e)
        }
    }

    /// Along a reach, whether block sequences under a key start at its column, from the
    /// first sequence's first item, as the loader learns it.
    fn learn_indentless(&mut self, item: &Ev<'a>, visit: Visit, key_col: Option<usize>) {
        let (true, Some(kc)) = (visit.block, key_col) else {
            return;
        };
        let src = self.ev.src;
        if let Some(p) = self.prune.as_mut().filter(|p| p.indentless.is_none()) {
            let item = self.ev.byte(item.1.start.index());
            p.indentless = Some(col(src, find_dash(src, item)) == kc);
        }
    }

    /// Along a reach, the indentation step, from the first block mapping under a key.
    fn learn_step(&mut self, visit: Visit, key_col: Option<usize>, props_end: usize) {
        let (true, Some(kc)) = (visit.block, key_col) else {
            return;
        };
        if let Some(p) = self.prune.as_mut().filter(|p| p.step.is_none()) {
            let c = col(self.ev.src, props_end);
            if c > kc {
                p.step = Some(c - kc);
            }
        }
    }

    /// A sync point at a root entry's key, at most one every `SYNC_EVERY` bytes.
    fn sync_point(&mut self, key_at: usize) {
        if let Some(p) = self.prune.as_mut() {
            if p.syncs
                .last()
                .is_none_or(|(at, _)| key_at >= at + SYNC_EVERY)
            {
                p.syncs.push((key_at, p.digest.clone()));
            }
        }
    }
}

/// Where the parser put a node: its span in bytes and its line; and, for the value of a
/// block mapping entry, its key's column, where the layout is learnt.
struct Placed {
    start: usize,
    span_end: usize,
    line: usize,
    key_col: Option<usize>,
}

/// How a node is built: which of its children are kept, and along a reach what of it is
/// digested. Decided once per node by `Builder::visit`.
#[derive(Clone, Copy)]
struct Visit<'t> {
    /// The trie the node's children are kept along; none are kept without one.
    keep: Option<&'t PathTrie>,
    /// Indexing along a reach.
    pruning: bool,
    /// Along a reach: the node's own events are digested (it is skipped, or kept in part).
    digested: bool,
    /// Along a reach: a collection kept in part, whose unkept children are digested with
    /// their place.
    partial: bool,
    /// Along a reach: a document's root, along which sync points are taken.
    root: bool,
    /// Along a reach: a block node, where the layout is learnt and sync points taken.
    block: bool,
}

/// Along a reach, a key that only the whole load judges gives up: a complex key, `<<`, or a
/// repeated key (a repeated empty key only where the mapping is kept).
fn refuse_key(event: &Event, kept: bool, seen: &mut HashSet<u64>) -> Result<()> {
    let Event::Scalar(k, style, _, tag) = event else {
        return Err(outside_reach());
    };
    let plain = *style == ScalarStyle::Plain;
    let empty = plain && k.is_empty() && tag.is_none();
    let repeated = !seen.insert(KEYS.hash_one(k.as_ref()));
    if (plain && k == "<<") || (repeated && (!empty || kept)) {
        return Err(outside_reach());
    }
    Ok(())
}

/// A scalar's value start and content end (see `Node`), from its span and properties.
fn scalar_extent(
    src: &str,
    value: &str,
    style: ScalarStyle,
    at: &Placed,
    props_end: usize,
    props: bool,
) -> (usize, usize) {
    let (start, span_end) = (at.start, at.span_end);
    match style {
        ScalarStyle::Literal | ScalarStyle::Folded => {
            // With properties the span starts at them and covers the header;
            // without, it starts at the body and the header is on the line above,
            // except for an empty scalar at the end of the stream, whose span
            // starts at its header (`t: |-` as the last line).
            let line_start = src[..start].rfind('\n').map_or(0, |n| n + 1);
            let at_header = src[start..].starts_with(['|', '>'])
                && (value.is_empty() || !src[line_start..start].trim().is_empty());
            let header = if props_end > start || props {
                props_end
            } else if at_header {
                start
            } else {
                find_block_header(src, start).unwrap_or(start)
            };
            (header, block_content_end(src, header, span_end))
        }
        ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
            (props_end, quoted_end(src, props_end, style))
        }
        // An empty plain scalar (a missing value) takes no room, though the
        // parser may span it over the next token (`{a}` spans the `}`).
        _ if value.is_empty() => (props_end, props_end),
        _ => (props_end, span_end.max(props_end)),
    }
}

/// `key:` (or `key :`) with no value: the parser puts the empty scalar at or before the
/// colon; a value written there would land inside the key.
fn place_empty_value(src: &str, key: &Node, value: &mut Node, flow: bool) {
    let Some(colon) = colon_after(src, key.end) else {
        return;
    };
    // In a block mapping, a `:` on a later line is this entry's
    // only when it stands under the entry's `?`; one further left
    // starts an entry of an outer mapping.
    let column = |p: usize| p - src[..p].rfind('\n').map_or(0, |n| n + 1);
    let own = flow
        || !src[key.end..colon].contains('\n')
        || question_mark(src, key.start).is_some_and(|q| column(q) == column(colon));
    if own && value.start <= colon {
        (value.start, value.body, value.end) = (colon + 1, colon + 1, colon + 1);
    } else if !own {
        // `? a` with no `:` of its own: its empty value is at the
        // key, not at the outer entry the parser stopped at.
        (value.start, value.body, value.end) = (key.end, key.end, key.end);
    }
}

/// The string a mapping key stands for. Keys are strings in jq; YAML's `80:` becomes "80".
/// `None` for a complex key (a collection or an alias as a key).
pub(super) fn key_string(key: &Node) -> Option<&str> {
    match &key.kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

pub(super) fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain, .. } if value == "<<")
}

/// Indexes every document of `src`, keeping the nodes that `keep` asks for. `file` names the
/// source in messages.
pub fn index(src: &str, file: &str, keep: Keep) -> Result<Index> {
    let mut b = Builder {
        ev: Events::new(src, file),
        anchors: Vec::new(),
        aliases: Vec::new(),
        prune: None,
    };
    let docs = b.documents(|i| match keep {
        Keep::All => Some(PathTrie::everything()),
        Keep::Paths(p) => p.get(i).and_then(Option::as_ref),
    })?;
    Ok(Index {
        docs,
        anchors: b.anchors,
        aliases: b.aliases,
    })
}

impl Builder<'_> {
    /// Every document of the stream, document `i`'s nodes kept along `keep(i)`; one
    /// document with no root for a stream with none.
    fn documents<'t>(&mut self, keep: impl Fn(usize) -> Option<&'t PathTrie>) -> Result<Vec<Doc>> {
        let mut docs = Vec::new();
        loop {
            let (ev, _) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    let ev = self.next()?;
                    if let Some(p) = self.prune.as_mut() {
                        p.root_next = true;
                    }
                    let root = self.node(ev, keep(docs.len()), false)?;
                    docs.push(Doc { root: Some(root) });
                }
                other => return Err(Error::Internal(format!("unexpected YAML event {other:?}"))),
            }
        }
        if docs.is_empty() {
            docs.push(Doc { root: None });
        }
        Ok(docs)
    }
}

/// What indexing along a reach gives: the index, the digest of the skipped text, and the
/// layout learnt from the file.
pub(super) struct Pruned {
    pub index: Index,
    pub digest: u128,
    pub step: Option<usize>,
    pub indentless: Option<bool>,
    /// Along a document's block mapping root, partly kept: where some of its entries' keys
    /// start, with the digest as it stood there. Past the last edit, the text is the same
    /// bytes and the parser stands in the same state at such a key (inside the root mapping,
    /// at a line's start, nothing open), so it reads as it did: the verifier may stop
    /// there once its own digest matches.
    pub syncs: Vec<(usize, Digester)>,
}

/// Indexes every document along `trie` (a reach), keeping what the values, the splice and
/// the verifier need in one pass. An error means the file needs the whole load.
pub(super) fn index_reach(src: &str, file: &str, trie: &PathTrie) -> Result<Pruned> {
    let mut b = Builder {
        ev: Events::new(src, file),
        anchors: Vec::new(),
        aliases: Vec::new(),
        prune: Some(Pruning {
            digest: Digester::new(),
            step: None,
            indentless: None,
            root_next: false,
            syncs: Vec::new(),
        }),
    };
    let docs = b.documents(|_| Some(trie))?;
    let Some(p) = b.prune.take() else {
        return Err(outside_reach());
    };
    let docs_len = docs.len();
    Ok(Pruned {
        index: Index {
            docs,
            anchors: b.anchors,
            aliases: b.aliases,
        },
        digest: p.digest.finish(),
        step: p.step,
        indentless: p.indentless,
        // Only a stream of one document: the rest of the stream is then that root's.
        syncs: if docs_len == 1 { p.syncs } else { Vec::new() },
    })
}

/// A collection node: its body starts at its bracket, or at its first dash or key.
fn collection(
    src: &str,
    at: &Placed,
    (anchor, tag): (usize, Option<String>),
    kind: Kind,
    span: std::ops::Range<usize>,
    keeps_blank: bool,
) -> Node {
    Node {
        line: line_of(src, span.start, at.line, at.start) as u32,
        kind,
        start: at.start.min(span.start),
        body: span.start,
        end: span.end,
        anchor: anchor as u32,
        tag: tag.map(String::into_boxed_str),
        keeps_blank,
    }
}

/// A collection of thousands of children lives while the edits are made, next to the
/// document's values: without the growth slack.
fn without_slack<T>(children: &mut Vec<T>) {
    if children.capacity() - children.len() > 1024 {
        children.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(src: &str) -> Node {
        index(src, "t", Keep::All)
            .unwrap()
            .docs
            .remove(0)
            .root
            .unwrap()
    }

    fn entries(n: &Node) -> &[Entry] {
        match &n.kind {
            Kind::Map { entries, .. } => entries,
            _ => panic!("not a map"),
        }
    }

    fn text<'a>(src: &'a str, n: &Node) -> &'a str {
        &src[n.body..n.end]
    }

    #[test]
    fn quoted_span_stops_at_closing_quote() {
        let src = "a: \"x\\\"y\"   # c\nb: 'it''s' # d\n";
        let r = root(src);
        assert_eq!(text(src, &entries(&r)[0].value), "\"x\\\"y\"");
        assert_eq!(text(src, &entries(&r)[1].value), "'it''s'");
    }

    #[test]
    fn anchor_and_tag_are_props_not_body() {
        let src = "a: &x 1\nb: !!str 2\nc: &y !t v\n";
        let r = root(src);
        let e = entries(&r);
        assert_eq!(text(src, &e[0].value), "1");
        assert_eq!(&src[e[0].value.start..e[0].value.end], "&x 1");
        assert_eq!(text(src, &e[1].value), "2");
        assert_eq!(e[1].value.tag.as_deref(), Some("!!str"));
        assert_eq!(text(src, &e[2].value), "v");
    }

    #[test]
    fn block_scalar_body_includes_header_not_trailing_blanks() {
        let src = "a: |-  # c\n  x\n  y\n\n\nb: &q >\n  z\n";
        let r = root(src);
        let e = entries(&r);
        assert_eq!(text(src, &e[0].value), "|-  # c\n  x\n  y");
        assert_eq!(text(src, &e[1].value), ">\n  z");
    }

    #[test]
    fn block_collection_ends_at_last_child() {
        let src = "a:\n  - 1\n  - 2\n# foot\nb: 1\n";
        let r = root(src);
        let seq = &entries(&r)[0].value;
        assert_eq!(&src[seq.body..seq.end], "- 1\n  - 2");
    }

    #[test]
    fn non_ascii_offsets_are_bytes() {
        let src = "\u{feff}ключ: \"значение\"\nb: ü\n";
        let r = root(src);
        let e = entries(&r);
        assert_eq!(text(src, &e[0].key), "ключ");
        assert_eq!(text(src, &e[0].value), "\"значение\"");
        assert_eq!(text(src, &e[1].value), "ü");
    }

    #[test]
    fn a_null_item_at_the_end_after_a_bom_is_inside_the_text() {
        for src in ["\u{feff}-", "\u{feff}- ", "\u{feff}a:", "\u{feff}a:\n- "] {
            let idx = index(src, "t", Keep::All).unwrap();
            fn walk(n: &Node, len: usize, src: &str) {
                assert!(
                    n.start <= len && n.body <= len && n.end <= len,
                    "{src:?}: {}..{}..{} past {len}",
                    n.start,
                    n.body,
                    n.end
                );
                match &n.kind {
                    Kind::Map { entries, .. } => entries.iter().for_each(|e| {
                        walk(&e.key, len, src);
                        walk(&e.value, len, src)
                    }),
                    Kind::Seq { items, .. } => items.iter().for_each(|i| walk(&i.node, len, src)),
                    _ => {}
                }
            }
            walk(idx.docs[0].root.as_ref().unwrap(), src.len(), src);
        }
    }

    #[test]
    fn empty_stream_has_one_empty_doc() {
        let idx = index("# just a comment\n", "t", Keep::All).unwrap();
        assert_eq!(idx.docs.len(), 1);
        assert!(idx.docs[0].root.is_none());
    }

    #[test]
    fn syntax_error_has_location() {
        let err = index("a: 1\nb: [1, 2\n", "v.yaml", Keep::All).unwrap_err();
        let Error::YamlSyntax { at, .. } = err else {
            panic!()
        };
        assert_eq!(at.source, "v.yaml");
        assert!(at.line >= 2);
    }
}
