//! The jq input: each document's value, typed by the YAML 1.2 core schema, with aliases and
//! `<<` merge keys expanded (jq sees what a YAML reader sees); and the verifier that reads an
//! edited file back and compares it with the values it must hold.

use std::collections::{HashMap, HashSet};

use jaq_core::ValT;
use jaq_json::{Num, Val};
use saphyr_parser::{Event, ScalarStyle};

use super::events::{is_flow, skip_props, Ev, Events};
use super::index::{self, display_tag, find_dash, Kind, Node, Trie};
use super::reach::Reach;
use super::render::Layout;
use crate::error::{Error, Result};

/// Types a plain scalar by the YAML 1.2 core schema.
pub fn resolve_plain(s: &str) -> Val {
    scalar(s, ScalarStyle::Plain, None)
}

/// A string made by copying its text somewhere: into its own allocation, or into the
/// loader's chunk (`Strings`).
type Text<'t> = &'t mut dyn FnMut(&str) -> Val;

/// The value of a plain scalar that the core schema does not read as a string.
fn non_string(s: &str) -> Option<Val> {
    Some(match s {
        "" | "~" | "null" | "Null" | "NULL" => Val::Null,
        "true" | "True" | "TRUE" => Val::Bool(true),
        "false" | "False" | "FALSE" => Val::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Val::from(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Val::from(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Val::from(f64::NAN),
        _ => {
            if let Some(n) = core_int(s) {
                return Some(n);
            }
            if !is_core_float(s) {
                return None;
            }
            // jaq keeps a number literal's text, so `1.20` prints back as `1.20`.
            return Val::from_num(s.strip_prefix('+').unwrap_or(s)).ok();
        }
    })
}

fn core_int(s: &str) -> Option<Val> {
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = s.strip_prefix("0o") {
        (8, o)
    } else {
        let d = s.strip_prefix('+').unwrap_or(s);
        let unsigned = d.strip_prefix('-').unwrap_or(d);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Num::from_str_radix(d, 10).map(Val::Num);
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Num::from_str_radix(digits, radix).map(Val::Num)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac = digits(&mut i);
        if int == 0 && frac == 0 {
            return false;
        }
    } else if int == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A scalar's value from its text, style and tag.
pub fn scalar(value: &str, style: ScalarStyle, tag: Option<&str>) -> Val {
    scalar_in(value, style, tag, &mut |s| Val::from(s.to_string()))
}

fn scalar_in(value: &str, style: ScalarStyle, tag: Option<&str>, text: Text) -> Val {
    match tag {
        // `!` alone is the non-specific tag: a scalar that carries it is a string, whatever
        // it looks like (YAML 1.2, 6.9.1).
        Some("!" | "!!str" | "!!binary" | "!!timestamp") => return text(value),
        Some("!!int" | "!!float") => {
            return match non_string(value) {
                Some(v @ Val::Num(_)) => v,
                _ => text(value),
            };
        }
        Some("!!bool" | "!!null") => return non_string(value).unwrap_or_else(|| text(value)),
        _ => {}
    }
    match style {
        ScalarStyle::Plain => non_string(value).unwrap_or_else(|| text(value)),
        _ => text(value),
    }
}

/// The string a mapping key stands for. Keys are strings in jq; YAML's `80:` becomes "80".
/// `None` for a complex key (a collection or an alias as a key).
pub fn key_string(key: &Node) -> Option<&str> {
    match &key.kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

pub fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain, .. } if value == "<<")
}

/// Every document's value, the anchors' values, and the file's layout.
pub struct Loaded {
    pub values: Vec<Val>,
    pub anchors: HashMap<usize, Val>,
    pub layout: Layout,
}

/// Reads every document's value straight from the parser's events: no node tree is kept,
/// so memory is the values themselves.
pub fn load(src: &str, file: &str) -> Result<Loaded> {
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

struct Loader<'a> {
    ev: Events<'a>,
    anchors: HashMap<usize, Val>,
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
    digest: Option<Digester>,
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

/// A byte column; a byte order mark at the start of the file takes none.
pub(super) fn col(src: &str, pos: usize) -> usize {
    let start = match src[..pos].rfind('\n') {
        Some(n) => n + 1,
        None if src.starts_with('\u{feff}') && pos >= 3 => 3,
        None => 0,
    };
    pos - start
}

impl<'a> Loader<'a> {
    fn new(src: &'a str, file: &'a str) -> Self {
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

    fn pruned(src: &'a str, file: &'a str) -> Self {
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
    fn value(&mut self, (event, span): Ev<'a>, key_col: Option<usize>) -> Result<Val> {
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
                let flow = is_flow(src, start, end);
                let mut out = Vec::new();
                loop {
                    let ev = self.ev.next_event()?;
                    if let Event::SequenceEnd = ev.0 {
                        break;
                    }
                    if out.is_empty() && !flow && self.indentless.is_none() {
                        if let Some(kc) = key_col {
                            let item = self.ev.byte(ev.1.start.index());
                            let dash = find_dash(src, item);
                            self.indentless = Some(col(src, dash) == kc);
                        }
                    }
                    out.push(self.value(ev, None)?);
                }
                // The document's values live until the output is verified: without the
                // growth slack (pushing doubles the room).
                out.shrink_to_fit();
                (Val::Arr(out.into()), anchor)
            }
            Event::MappingStart(anchor, _) => {
                let flow = is_flow(src, start, end);
                if !flow && self.step.is_none() {
                    if let Some(kc) = key_col {
                        let c = col(src, skip_props(src, start, end));
                        if c > kc {
                            self.step = Some(c - kc);
                        }
                    }
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
                let key = map
                    .get_index(i)
                    .map(|(k, _)| key_text(k))
                    .unwrap_or_default();
                return Err(self.err(
                    span.start.line(),
                    format!(
                        "duplicate key `{key}` (first defined at line {}); remove one of them",
                        lines[i]
                    ),
                ));
            }
            lines.push(span.start.line());
        }
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
        map.shrink_to_fit();
        Ok(Val::obj(map))
    }

    /// A mapping key as jq sees it: a scalar is its text (keys are strings in jq), an alias
    /// the text of its anchored scalar, a collection (a complex key, `? [a]`) its value.
    fn key(&mut self, (event, span): Ev<'a>) -> Result<Key> {
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

/// Why a load or check along a reach gave up: the caller loads the whole document instead,
/// which reports any real error exactly as before.
pub(super) fn outside_reach() -> Error {
    Error::Internal("outside the reach".into())
}

impl<'a> Loader<'a> {
    /// Reads past a node that the program cannot reach, digesting it with its place (a key,
    /// an index) and learning the layout from it as `value` would.
    fn skip_child(&mut self, place: &[u8], ev: Ev<'a>, key_col: Option<usize>) -> Result<()> {
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
                let flow = is_flow(src, start, end);
                let mut first = true;
                loop {
                    let ev = self.ev.next_event()?;
                    if let Event::SequenceEnd = ev.0 {
                        self.feed(&ev.0);
                        return Ok(());
                    }
                    if first && !flow && self.indentless.is_none() {
                        if let Some(kc) = key_col {
                            let item = self.ev.byte(ev.1.start.index());
                            self.indentless = Some(col(src, find_dash(src, item)) == kc);
                        }
                    }
                    first = false;
                    self.skip(ev, None)?;
                }
            }
            Event::MappingStart(..) => {
                let (start, end) = self.ev.bytes(&span);
                let flow = is_flow(src, start, end);
                if !flow && self.step.is_none() {
                    if let Some(kc) = key_col {
                        let c = col(src, skip_props(src, start, end));
                        if c > kc {
                            self.step = Some(c - kc);
                        }
                    }
                }
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
            _ => Err(outside_reach()),
        }
    }

    fn feed(&mut self, event: &Event) {
        if let Some(h) = self.digest.as_mut() {
            feed(h, event);
        }
    }

    fn finish(&mut self) -> u128 {
        self.digest.take().map(Digester::finish).unwrap_or_default()
    }
}

/// A 128-bit digest of events, from two differently seeded foldhash streams. It guards
/// against a splice mistake, not an adversary: the text it digests is the file's own, and
/// a mistake it missed would have to collide in both halves. SHA-256 cost a tenth of a
/// 20 MB edit; this costs a fiftieth.
#[derive(Clone)]
pub struct Digester {
    a: foldhash::fast::FoldHasher,
    b: foldhash::fast::FoldHasher,
}

impl Digester {
    pub(super) fn new() -> Self {
        use std::hash::BuildHasher;
        let seeded = |s| foldhash::fast::FixedState::with_seed(s).build_hasher();
        Digester {
            a: seeded(0x243f_6a88_85a3_08d3),
            b: seeded(0x1319_8a2e_0370_7344),
        }
    }

    fn update(&mut self, bytes: impl AsRef<[u8]>) {
        use std::hash::Hasher;
        let bytes = bytes.as_ref();
        self.a.write(bytes);
        self.b.write(bytes);
    }

    pub(super) fn finish(self) -> u128 {
        use std::hash::Hasher;
        (u128::from(self.a.finish()) << 64) | u128::from(self.b.finish())
    }
}

/// The place of a skipped node in its collection (a key, an index), digested before it.
pub(super) fn feed_label(h: &mut Digester, place: &[u8]) {
    h.update([0xff]);
    h.update((place.len() as u64).to_le_bytes());
    h.update(place);
}

/// Digests an event as a reader sees it: kind, text, style and tag. Anchors count only as
/// present: with no aliases their names change no value.
pub(super) fn feed(h: &mut Digester, event: &Event) {
    let tag = |h: &mut Digester, t: &Option<std::borrow::Cow<saphyr_parser::Tag>>| {
        let t = t.as_ref().map(|t| display_tag(t)).unwrap_or_default();
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    };
    match event {
        Event::Scalar(v, style, anchor, t) => {
            let style = match style {
                ScalarStyle::Plain => 0,
                ScalarStyle::SingleQuoted => 1,
                ScalarStyle::DoubleQuoted => 2,
                ScalarStyle::Literal => 3,
                ScalarStyle::Folded => 4,
            };
            h.update([1, style, u8::from(*anchor != 0)]);
            tag(h, t);
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        Event::SequenceStart(anchor, t) => {
            h.update([2, u8::from(*anchor != 0)]);
            tag(h, t);
        }
        Event::SequenceEnd => h.update([3]),
        Event::MappingStart(anchor, t) => {
            h.update([4, u8::from(*anchor != 0)]);
            tag(h, t);
        }
        Event::MappingEnd => h.update([5]),
        _ => h.update([6]),
    }
}

/// A value from nodes indexed along a reach (`index_reach`): as `Loader::value` reads it
/// where the trie keeps the node's children, `null` for each child it does not keep.
pub(super) fn value_of(node: &Node, keep: &Trie) -> Result<Val> {
    Ok(match &node.kind {
        Kind::Scalar { value, style } => scalar(value, *style, node.tag.as_deref()),
        Kind::Seq { items, .. } => {
            let keep = if keep.fits_seq() { keep } else { index::all() };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(match keep.child(&index::Step::Index(i)) {
                    Some(t) => value_of(&item.node, t)?,
                    None => Val::Null,
                });
            }
            Val::Arr(out.into())
        }
        Kind::Map { entries, .. } => {
            let keep = if keep.fits_map() { keep } else { index::all() };
            let mut map = jaq_json::Map::default();
            for e in entries {
                let Kind::Scalar { value: k, .. } = &e.key.kind else {
                    return Err(outside_reach());
                };
                let v = match keep.child_key(k) {
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

/// Where verification along a reach may begin instead of the start: a sync point of a
/// one-document file's root before every edit and every entry the program can change. The
/// text before it is the old text, which read as the targets' first entries when loaded;
/// `tail` is the root's target without them, `snapshot` the digest there.
pub struct Resume<'p> {
    pub at: usize,
    pub snapshot: &'p Digester,
    pub tail: jaq_json::Map,
}

/// `verify` for values loaded along `reach`: the reachable nodes are compared with the
/// targets, and what the placeholders stand for must digest as it did when loaded. With
/// `resume`, only the text from its point on is read; anything but a match there reads the
/// whole text, which then decides, so that a miss is reported as it always was.
#[allow(clippy::too_many_arguments)]
pub fn verify_reach(
    src: &str,
    file: &str,
    targets: &[Val],
    changed: &HashSet<usize>,
    reach: &Reach,
    digest: u128,
    sync: Option<(usize, &Digester)>,
    resume: Option<&Resume>,
) -> Result<Option<String>> {
    if let Some(r) = resume {
        if let Ok(None) = verify_tail(src, file, changed, reach, digest, sync, r) {
            return Ok(None);
        }
    }
    let mut l = Loader::pruned(src, file);
    let outcome = each_document(&mut l, targets, |l, root, target| {
        check_reach(l, root, target, changed, reach, sync)
    });
    match outcome {
        Ok(()) if l.finish() != digest => Ok(Some("(text the expression cannot reach)".into())),
        Err(Stop::Synced) => Ok(None),
        other => stopped(other),
    }
}

/// The text from `r.at` on, read as the rest of the root mapping: the parser starts afresh
/// there, in the state it had (a block mapping at column 0, its start already digested).
pub(super) fn verify_tail(
    src: &str,
    file: &str,
    changed: &HashSet<usize>,
    reach: &Reach,
    digest: u128,
    sync: Option<(usize, &Digester)>,
    r: &Resume,
) -> Result<Option<String>> {
    let tail = src
        .get(r.at..)
        .ok_or_else(|| Error::Internal("resume point".into()))?;
    let mut l = Loader::pruned(tail, file);
    l.digest = Some(r.snapshot.clone());
    let sync = sync.and_then(|(at, d)| Some((at.checked_sub(r.at)?, d)));
    let resumed = |ev: &Event| matches!(ev, Event::StreamStart | Event::DocumentStart(_));
    let outcome = (|| {
        let mut ev = l.ev.next_event()?;
        while resumed(&ev.0) {
            ev = l.ev.next_event()?;
        }
        if !matches!(ev.0, Event::MappingStart(0, None)) {
            return Err(Stop::At(vec!["(resumed)".into()]));
        }
        check_entries(&mut l, &r.tail, changed, reach, sync)?;
        loop {
            match l.ev.next_event()?.0 {
                Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(()),
                _ => return Err(Stop::At(vec!["(resumed: another document)".into()])),
            }
        }
    })();
    match outcome {
        Ok(()) if l.finish() != digest => Ok(Some("(text the expression cannot reach)".into())),
        Err(Stop::Synced) => Ok(None),
        other => stopped(other),
    }
}

/// Reads each document of the stream and checks it against its target with `check`;
/// then the number of documents.
fn each_document<'a>(
    l: &mut Loader<'a>,
    targets: &[Val],
    mut check: impl FnMut(&mut Loader<'a>, Ev<'a>, &Val) -> std::result::Result<(), Stop>,
) -> std::result::Result<(), Stop> {
    let mut docs = 0;
    loop {
        let (ev, _) = l.ev.next_event()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let root = l.ev.next_event()?;
                let Some(target) = targets.get(docs) else {
                    return Err(Stop::At(vec![format!("document {}", docs + 1)]));
                };
                docs += 1;
                check(l, root, target)?;
            }
            _ => return Err(Stop::At(vec!["(stream)".into()])),
        }
    }
    let expected = targets.len() - usize::from(docs == 0 && targets == [Val::Null]);
    if docs != expected {
        return Err(Stop::At(vec![format!(
            "document count {docs}, expected {}",
            targets.len()
        )]));
    }
    Ok(())
}

/// A verification's outcome as `verify` reports it: `None`, or the path of the first
/// difference.
fn stopped(outcome: std::result::Result<(), Stop>) -> Result<Option<String>> {
    match outcome {
        Ok(()) => Ok(None),
        Err(Stop::Yaml(e)) => Err(e),
        Err(Stop::Synced) => Err(Error::Internal("a sync point outside a reach".into())),
        Err(Stop::At(mut path)) => {
            path.reverse();
            Ok(Some(if path.is_empty() {
                ".".into()
            } else {
                path.concat()
            }))
        }
    }
}

fn check_reach<'a>(
    l: &mut Loader<'a>,
    ev: Ev<'a>,
    target: &Val,
    changed: &HashSet<usize>,
    reach: &Reach,
    sync: Option<(usize, &Digester)>,
) -> std::result::Result<(), Stop> {
    let differs = || Err(Stop::At(Vec::new()));
    if reach.whole {
        return check(l, ev, target, changed);
    }
    match &ev.0 {
        Event::SequenceStart(..) if reach.fits_seq() => {
            l.feed(&ev.0);
            let Val::Arr(items) = target else {
                return differs();
            };
            let mut i = 0;
            loop {
                let ev = l.ev.next_event()?;
                if let Event::SequenceEnd = ev.0 {
                    l.feed(&ev.0);
                    break;
                }
                let Some(t) = items.get(i) else {
                    return differs();
                };
                match reach.item(i) {
                    Some(r) => check_reach(l, ev, t, changed, r, None)
                        .map_err(|s| at(s, format!("[{i}]")))?,
                    None if *t == Val::Null => l.skip_child(&i.to_le_bytes(), ev, None)?,
                    None => return Err(Stop::At(vec![format!("[{i}]")])),
                }
                i += 1;
            }
            if i == items.len() {
                Ok(())
            } else {
                differs()
            }
        }
        Event::MappingStart(..) if reach.fits_map() => {
            l.feed(&ev.0);
            let Val::Obj(entries) = target else {
                return differs();
            };
            check_entries(l, entries, changed, reach, sync)
        }
        _ => check(l, ev, target, changed),
    }
}

/// The entries of a mapping along `reach`, up to and with its end, against `entries`.
fn check_entries<'a>(
    l: &mut Loader<'a>,
    entries: &jaq_json::Map,
    changed: &HashSet<usize>,
    reach: &Reach,
    sync: Option<(usize, &Digester)>,
) -> std::result::Result<(), Stop> {
    let differs = || Err(Stop::At(Vec::new()));
    let mut seen = vec![false; entries.len()];
    // The target keeps the file's order of keys (an added key comes last), so each
    // key is looked for where the previous one was found, first.
    let mut next = 0;
    loop {
        let ev = l.ev.next_event()?;
        if let Event::MappingEnd = ev.0 {
            l.feed(&ev.0);
            break;
        }
        if let Some((at, snapshot)) = sync {
            // The sync point past the last edit: the rest is the old text, read in
            // the same state; it is the same document if all before read the same.
            if l.ev.byte(ev.1.start.index()) == at {
                let here = l.digest.clone().map(Digester::finish);
                return if here == Some(snapshot.clone().finish()) {
                    Err(Stop::Synced)
                } else {
                    Err(Stop::At(vec!["(text the expression cannot reach)".into()]))
                };
            }
        }
        // Along a reach every key is a scalar, and none is `<<`.
        let Event::Scalar(key, style, ..) = &ev.0 else {
            return differs();
        };
        if *style == ScalarStyle::Plain && key == "<<" {
            return differs();
        }
        let found = match entries.get_index(next) {
            Some((Val::TStr(k) | Val::BStr(k), t)) if k.as_ref() == key.as_bytes() => {
                Some((next, t))
            }
            _ => entries
                .get_full(&Val::from(key.to_string()))
                .map(|(i, _, t)| (i, t)),
        };
        let Some((i, t)) = found else {
            // An entry no path reaches is not in the loaded value: it must digest as it did.
            if reach.key(key).is_none() {
                let value = l.ev.next_event()?;
                l.skip_child(key.as_bytes(), value, None)?;
                continue;
            }
            return Err(Stop::At(vec![format!(".{key}")]));
        };
        next = i + 1;
        if std::mem::replace(&mut seen[i], true) {
            return Err(Stop::At(vec![format!(".{key} (twice)")]));
        }
        let value = l.ev.next_event()?;
        match reach.key(key) {
            Some(r) => {
                check_reach(l, value, t, changed, r, None).map_err(|s| at(s, format!(".{key}")))?
            }
            None if *t == Val::Null => l.skip_child(key.as_bytes(), value, None)?,
            None => return Err(Stop::At(vec![format!(".{key}")])),
        }
    }
    if seen.iter().all(|&s| s) {
        Ok(())
    } else {
        differs()
    }
}

/// A mapping key, read.
struct Key {
    key: Val,
    /// `<<`, the merge key.
    merge: bool,
    /// A plain empty key (`: v`, `? `), which a mapping may have more than once.
    empty: bool,
}

/// Why verification stopped: the text does not parse, or a value differs at a path; or,
/// along a reach, it reached the sync point with everything before it as it must be.
enum Stop {
    Yaml(Error),
    At(Vec<String>),
    Synced,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Yaml(e)
    }
}

/// Reads `src` again and compares it, event by event, with the values it must hold. Aliases
/// of the anchors in `changed`, and keys merged from them, may differ: they follow their
/// edited anchor. No tree is built, so this costs no more memory than the anchors' values.
/// `Ok(None)` when everything matches; `Ok(Some(path))` names the first difference.
pub fn verify(
    src: &str,
    file: &str,
    targets: &[Val],
    changed: &HashSet<usize>,
) -> Result<Option<String>> {
    let mut l = Loader::new(src, file);
    stopped(each_document(&mut l, targets, |l, root, target| {
        check(l, root, target, changed)
    }))
}

fn check<'a>(
    l: &mut Loader<'a>,
    ev: Ev<'a>,
    target: &Val,
    changed: &HashSet<usize>,
) -> std::result::Result<(), Stop> {
    // An edited anchor's collection is checked node by node like any other, so that aliases
    // inside it may follow other edited anchors; its aliases follow it, so the target
    // stands in for its value (a merge of it needs one).
    let edited_anchor = match &ev.0 {
        Event::SequenceStart(a, _) | Event::MappingStart(a, _) if changed.contains(a) => *a,
        _ => 0,
    };
    check_node(l, ev, target, changed)?;
    if edited_anchor != 0 {
        l.anchors.insert(edited_anchor, target.clone());
    }
    Ok(())
}

fn check_node<'a>(
    l: &mut Loader<'a>,
    ev: Ev<'a>,
    target: &Val,
    changed: &HashSet<usize>,
) -> std::result::Result<(), Stop> {
    let differs = || Err(Stop::At(Vec::new()));
    match &ev.0 {
        Event::Alias(id) => {
            let v = l.anchors.get(id);
            if v.is_some_and(|v| same(v, target)) || changed.contains(id) {
                return Ok(());
            }
            differs()
        }
        Event::Scalar(value, style, 0, None) if scalar_is(value, *style, target) => Ok(()),
        // Other scalars, and collections whose value an alias may need later, are built.
        Event::Scalar(..) | Event::SequenceStart(1.., _) | Event::MappingStart(1.., _) if !matches!(&ev.0, Event::SequenceStart(a, _) | Event::MappingStart(a, _) if changed.contains(a)) =>
        {
            let v = l.value(ev, None)?;
            if same(&v, target) {
                Ok(())
            } else {
                differs()
            }
        }
        Event::SequenceStart(..) => {
            let Val::Arr(items) = target else {
                return differs();
            };
            let mut i = 0;
            loop {
                let ev = l.ev.next_event()?;
                if let Event::SequenceEnd = ev.0 {
                    break;
                }
                let Some(t) = items.get(i) else {
                    return differs();
                };
                check(l, ev, t, changed).map_err(|s| at(s, format!("[{i}]")))?;
                i += 1;
            }
            if i == items.len() {
                Ok(())
            } else {
                differs()
            }
        }
        Event::MappingStart(..) => {
            let Val::Obj(entries) = target else {
                return differs();
            };
            // Which of the target's keys the text has, by their position in the target.
            let mut seen = vec![false; entries.len()];
            let mut merged: Vec<Val> = Vec::new();
            let mut merge_follows = false;
            loop {
                let ev = l.ev.next_event()?;
                if let Event::MappingEnd = ev.0 {
                    break;
                }
                let Key { key, merge, empty } = l.key(ev)?;
                let value = l.ev.next_event()?;
                if merge {
                    merge_follows |= match &value.0 {
                        Event::Alias(id) => changed.contains(id),
                        _ => !changed.is_empty(),
                    };
                    merged.push(l.value(value, None)?);
                    continue;
                }
                let key_str = key_text(&key);
                let Some((i, _, t)) = entries.get_full(&key) else {
                    return Err(Stop::At(vec![format!(".{key_str}")]));
                };
                if std::mem::replace(&mut seen[i], true) {
                    if empty {
                        // A later empty key, which the loaded value leaves out too.
                        l.value(value, None)?;
                        continue;
                    }
                    return Err(Stop::At(vec![format!(".{key_str} (twice)")]));
                }
                check(l, value, t, changed).map_err(|s| at(s, format!(".{key_str}")))?;
            }
            if merge_follows {
                return Ok(());
            }
            for m in merged {
                let sources = match m {
                    Val::Arr(a) => a.as_ref().clone(),
                    other => vec![other],
                };
                for source in sources {
                    if let Val::Obj(o) = source {
                        for (k, v) in o.iter() {
                            let Some((i, _, t)) = entries.get_full(k) else {
                                return Err(Stop::At(vec![format!(".{}", key_text(k))]));
                            };
                            if !std::mem::replace(&mut seen[i], true) && !same(v, t) {
                                return Err(Stop::At(vec![format!(".{}", key_text(k))]));
                            }
                        }
                    }
                }
            }
            if seen.iter().all(|&s| s) {
                Ok(())
            } else {
                differs()
            }
        }
        _ => differs(),
    }
}

/// Whether an untagged, unanchored scalar reads as `target`, without building a value for
/// the common case of a string that stays a string.
fn scalar_is(value: &str, style: ScalarStyle, target: &Val) -> bool {
    match target {
        Val::TStr(b) if b.as_ref() == value.as_bytes() => {
            style != ScalarStyle::Plain || non_string(value).is_none()
        }
        _ => same(&scalar(value, style, None), target),
    }
}

/// A key as text, for messages and paths.
fn key_text(k: &Val) -> String {
    match k {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_string(),
    }
}

fn at(stop: Stop, seg: String) -> Stop {
    match stop {
        Stop::At(mut path) => {
            path.push(seg);
            Stop::At(path)
        }
        other => other,
    }
}

/// Structural equality as a YAML reader sees it: mapping order does not matter, numbers
/// compare by value, and NaN equals NaN (so an unchanged `.nan` is not an edit).
pub fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        // A subtree an update left alone is shared, not copied: no need to walk it.
        (Val::Arr(x), Val::Arr(y)) if std::rc::Rc::ptr_eq(x, y) => true,
        (Val::Obj(x), Val::Obj(y)) if std::rc::Rc::ptr_eq(x, y) => true,
        (Val::Num(x), Val::Num(y)) => {
            let (fx, fy) = (num_f64(x), num_f64(y));
            (fx.is_nan() && fy.is_nan()) || a == b
        }
        (Val::Arr(x), Val::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same(p, q))
        }
        (Val::Obj(x), Val::Obj(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Val::TStr(x) | Val::BStr(x), Val::TStr(y) | Val::BStr(y)) => x == y,
        (Val::Num(_), _) | (_, Val::Num(_)) => false,
        _ => a == b,
    }
}

pub fn num_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
        Num::Dec(s) => s.parse().unwrap_or(f64::NAN),
        Num::BigInt(b) => b.to_string().parse().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_typing() {
        assert_eq!(resolve_plain("~"), Val::Null);
        assert_eq!(resolve_plain("True"), Val::Bool(true));
        assert_eq!(
            resolve_plain("yes"),
            Val::from("yes".to_string()),
            "yes is a string in YAML 1.2"
        );
        assert_eq!(resolve_plain("0x1F").to_string(), "31");
        assert_eq!(resolve_plain("0o17").to_string(), "15");
        assert_eq!(resolve_plain("-12").to_string(), "-12");
        assert_eq!(resolve_plain("1.20").to_string(), "1.20");
        assert!(matches!(resolve_plain("1e3"), Val::Num(_)));
        assert!(matches!(resolve_plain(".5"), Val::Num(_)));
        assert_eq!(resolve_plain("1.2.3"), Val::from("1.2.3".to_string()));
        assert_eq!(
            resolve_plain("2024-01-01"),
            Val::from("2024-01-01".to_string())
        );
        assert!(matches!(resolve_plain(".nan"), Val::Num(_)));
    }

    #[test]
    fn nan_is_same_as_nan() {
        assert!(same(&resolve_plain(".nan"), &resolve_plain(".NaN")));
        assert!(!same(&resolve_plain("1"), &Val::from("1".to_string())));
        assert!(same(&resolve_plain("1.0"), &resolve_plain("1")));
    }

    fn vals(src: &str) -> Vec<Val> {
        load(src, "t").unwrap().values
    }

    #[test]
    fn verify_accepts_equal_and_names_the_first_difference() {
        let none = HashSet::new();
        let src = "a:\n  b: [1, {c: x}]\n---\nd: 2\n";
        assert_eq!(verify(src, "t", &vals(src), &none).unwrap(), None);
        let want = vals("a:\n  b: [1, {c: y}]\n---\nd: 2\n");
        assert_eq!(
            verify(src, "t", &want, &none).unwrap().as_deref(),
            Some(".a.b[1].c")
        );
        let want = vals("a:\n  b: [1, {c: x}]\n---\nd: 2\ne: 3\n");
        assert_eq!(
            verify(src, "t", &want, &none).unwrap().as_deref(),
            Some(".")
        );
        let want = vals("a:\n  b: [1, {c: x}]\n");
        assert!(
            verify(src, "t", &want, &none).unwrap().is_some(),
            "a document too many"
        );
        let want = vals("a:\n  b: [1, {c: x}, 3]\n---\nd: 2\n");
        assert_eq!(
            verify(src, "t", &want, &none).unwrap().as_deref(),
            Some(".a.b")
        );
    }

    #[test]
    fn verify_lets_aliases_follow_only_changed_anchors() {
        // The file has the new anchor value; the target still holds the old one at the alias.
        let src = "a: &x 2\nb: *x\n";
        let want = vals("a: 2\nb: 1\n");
        assert_eq!(
            verify(src, "t", &want, &HashSet::new()).unwrap().as_deref(),
            Some(".b")
        );
        assert_eq!(verify(src, "t", &want, &HashSet::from([1])).unwrap(), None);
    }

    #[test]
    fn verify_checks_merged_keys() {
        let src = "base: &b {a: 1}\nsvc:\n  <<: *b\n  c: 2\n";
        assert_eq!(verify(src, "t", &vals(src), &HashSet::new()).unwrap(), None);
        let want = vals("base: {a: 1}\nsvc: {a: 5, c: 2}\n");
        assert_eq!(
            verify(src, "t", &want, &HashSet::new()).unwrap().as_deref(),
            Some(".svc.a")
        );
    }

    #[test]
    fn load_learns_the_layout() {
        let l = load("a:\n    b:\n    - x\n", "t").unwrap().layout;
        assert_eq!((l.step, l.indentless, l.newline), (4, true, "\n"));
        let l = load("a:\r\n  - x\r\n", "t").unwrap().layout;
        assert_eq!((l.step, l.indentless, l.newline), (2, false, "\r\n"));
    }
}
