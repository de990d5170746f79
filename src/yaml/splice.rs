//! The splice: compares a document's old value with the expression's result, node by node,
//! and turns each difference into the smallest byte edit that expresses it in the file's own
//! style. Nothing is re-serialised; bytes outside the edits are never touched. The walk only
//! enters nodes whose value changed, which are the nodes the sparse index keeps.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use jaq_json::Val;
use saphyr_parser::ScalarStyle;

use super::index::{is_merge_key, key_string, Entry, Index, Item, Kind, Node};
use super::render::{self, Layout, Plain};
use super::schema::same;
use super::style::{Attr, Style};
use super::text::{
    after_line, col, entry_start, flow_close, key_col, line_start, past_line_end_blanks,
    trailing_comment,
};
use crate::error::{Error, Result};
use crate::path::PathTrie;

// A file beside this one, not below it: the engine's files stay one flat layer.
#[path = "splice_props.rs"]
mod props;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Where a node stands, which decides how a replacement is written.
#[derive(Debug, Clone, Copy)]
enum At {
    Root,
    /// A mapping value; `after` is just past the key's `:`.
    Value {
        key_col: usize,
        after: usize,
    },
    /// A block sequence item; `dash` is its `-`.
    Item {
        dash: usize,
    },
}

#[derive(Debug, Clone, Copy)]
struct Place {
    flow: bool,
    at: At,
}

/// What walking a mapping's entries found (see `Walker::diff_entries`).
#[derive(Default)]
struct Walked {
    /// The entries the new value no longer has, by position.
    removed: Vec<usize>,
    /// How many entries stay.
    kept: usize,
    /// The keys written in the mapping, when it has `<<` merge entries.
    local: HashSet<Val>,
}

pub struct Walker<'a> {
    src: &'a str,
    file: &'a str,
    layout: &'a Layout,
    /// Values of the stream's anchors, to know what a `<<` merge brings in.
    anchors: &'a HashMap<usize, Val>,
    /// Where every anchor and alias stands.
    index: &'a Index,
    pub edits: Vec<Edit>,
    pub notes: Vec<String>,
    /// Anchors whose value this run changes, with the new value; aliases follow them.
    changed: HashMap<usize, Val>,
    path: Vec<String>,
    /// The document before and after, to tell an edited anchor from a moved one.
    doc: Option<(Val, Val)>,
    /// The styles the expression asked for in the document being walked, by the path as
    /// `path_str` spells it (`Walker::restyle`).
    styles: HashMap<String, Style>,
    /// The line comments asked for, likewise.
    comments: HashMap<String, String>,
    /// The other attributes asked for (`props`), likewise.
    attrs: HashMap<String, Vec<Attr>>,
    /// The comment lines rewritten so far (`props`), so that no two edits take them.
    commented: Vec<Range<usize>>,
}

/// Whether a flow collection is written with its brackets (not the single pair `a: b` that
/// a flow sequence may hold without braces).
fn bracketed(src: &str, node: &Node) -> bool {
    src.get(node.body..)
        .is_some_and(|t| t.starts_with(['{', '[']))
}

/// Whether `needle` is the new value at a position where `old` and `new` differ.
fn moved_to(old: &Val, new: &Val, needle: &Val) -> bool {
    if same(old, new) {
        return false;
    }
    if same(new, needle) {
        return true;
    }
    match (old, new) {
        (Val::Obj(o), Val::Obj(n)) => n.iter().any(|(k, nv)| match o.get(k) {
            Some(ov) => moved_to(ov, nv, needle),
            None => holds(nv, needle),
        }),
        (Val::Arr(o), Val::Arr(n)) => n.iter().enumerate().any(|(i, nv)| match o.get(i) {
            Some(ov) => moved_to(ov, nv, needle),
            None => holds(nv, needle),
        }),
        _ => holds(new, needle),
    }
}

/// Whether `needle` is `v` or anywhere inside it.
fn holds(v: &Val, needle: &Val) -> bool {
    same(v, needle)
        || match v {
            Val::Obj(o) => o.values().any(|c| holds(c, needle)),
            Val::Arr(a) => a.iter().any(|c| holds(c, needle)),
            _ => false,
        }
}

fn node_end(src: &str, e: &Entry) -> usize {
    // `? key` with no `:` line: the parser puts the empty value at the next token, which
    // belongs to the next entry.
    let gap = src.get(e.key.end..e.value.start).unwrap_or("");
    if e.value.start == e.value.end && !gap.contains(':') {
        return e.key.end;
    }
    e.value.end.max(e.key.end)
}

/// The anchor's name as written (`&name`), for messages.
fn anchor_name(src: &str, node: &Node) -> String {
    let props = &src[node.start..node.body.max(node.start)];
    props
        .split_whitespace()
        .find(|t| t.starts_with('&'))
        .map_or_else(|| "&anchor".to_string(), str::to_string)
}

impl<'a> Walker<'a> {
    pub fn new(
        src: &'a str,
        file: &'a str,
        layout: &'a Layout,
        anchors: &'a HashMap<usize, Val>,
        index: &'a Index,
    ) -> Self {
        Walker {
            src,
            file,
            layout,
            anchors,
            index,
            edits: Vec::new(),
            notes: Vec::new(),
            changed: HashMap::new(),
            path: Vec::new(),
            doc: None,
            styles: HashMap::new(),
            comments: HashMap::new(),
            attrs: HashMap::new(),
            commented: Vec::new(),
        }
    }

    /// The anchors whose value the edits change; the verifier lets their aliases follow.
    pub fn changed_anchors(&self) -> HashSet<usize> {
        self.changed.keys().copied().collect()
    }

    fn path_str(&self) -> String {
        if self.path.is_empty() {
            ".".into()
        } else {
            self.path.concat()
        }
    }

    fn refuse(&self, msg: String) -> Error {
        Error::Refused {
            file: self.file.to_string(),
            msg,
        }
    }

    fn edit(&mut self, start: usize, end: usize, text: String) {
        self.edits.push(Edit { start, end, text });
    }

    /// The styles asked for in the next document to walk: each path (keys and indices of
    /// the document's new value) is re-rendered in its style, changed or not.
    pub fn restyle(&mut self, asked: &[(Vec<crate::path::Step>, Attr)]) {
        use crate::path::Step;
        self.styles.clear();
        self.comments.clear();
        self.attrs.clear();
        self.commented.clear();
        for (path, attr) in asked {
            let shown: String = path
                .iter()
                .map(|step| match step {
                    Step::Key(k) => path_part(k),
                    Step::Index(i) => format!("[{i}]"),
                    Step::Any => String::new(),
                })
                .collect();
            let shown = if shown.is_empty() { ".".into() } else { shown };
            match attr {
                Attr::Style(style) => {
                    self.styles.insert(shown, *style);
                }
                Attr::LineComment(text) => {
                    self.comments.insert(shown, text.clone());
                }
                other => self.attrs.entry(shown).or_default().push(other.clone()),
            }
        }
    }

    /// Walks a document whose value changed along `trie` (the paths where old and new
    /// differ).
    pub fn root(&mut self, node: &Node, old: &Val, new: &Val, trie: &PathTrie) -> Result<()> {
        let place = Place {
            flow: false,
            at: At::Root,
        };
        self.doc = Some((old.clone(), new.clone()));
        self.diff(node, old, new, place, trie)
    }

    /// An anchored value that the expression moves elsewhere (`sort`, `reverse`, a swap)
    /// rather than changes: its aliases would follow the anchor, which now holds another
    /// value, and the file would read back differently from the expression's result. Told
    /// by the old value showing up again at a position the expression changed.
    fn refuse_a_move(&self, node: &Node, old: &Val) -> Result<()> {
        let aliases: Vec<&super::index::Mark> = self
            .index
            .aliases
            .iter()
            .filter(|a| a.id == node.anchor as usize)
            .collect();
        let Some((before, after)) = &self.doc else {
            return Ok(());
        };
        if aliases.is_empty() || !moved_to(before, after, old) {
            return Ok(());
        }
        let lines: Vec<String> = aliases.iter().map(|a| a.line.to_string()).collect();
        Err(self.refuse(format!(
            "line {}: {} is anchored as {} and the expression moves its value to another place; its aliases (line {}) would follow the anchor and no longer read as the expression's result: expand the aliases by hand, or change the anchored value where it is",
            node.line,
            self.path_str(),
            anchor_name(self.src, node),
            lines.join(", ")
        )))
    }

    /// An anchored mapping that a `<<` merge key takes in must stay a mapping: the merge of
    /// anything else is an error to every YAML reader.
    fn refuse_a_broken_merge(&self, node: &Node, new: &Val) -> Result<()> {
        if matches!(new, Val::Obj(_)) {
            return Ok(());
        }
        let merge = self.index.aliases.iter().find(|a| {
            a.id == node.anchor as usize && {
                let before = &self.src[line_start(self.src, a.start)..a.start];
                before
                    .split_once("<<")
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with(':'))
            }
        });
        match merge {
            Some(a) => Err(self.refuse(format!(
                "line {}: {} is anchored as {} and taken in by the `<<` merge key at line {}; it must stay a mapping: change its keys rather than the whole value, or drop the merge",
                node.line,
                self.path_str(),
                anchor_name(self.src, node),
                a.line
            ))),
            None => Ok(()),
        }
    }

    /// Notes for stderr: each alias of an edited anchor follows it, as in yq.
    pub fn alias_notes(&self) -> Vec<String> {
        self.index
            .aliases
            .iter()
            .filter(|a| self.changed.contains_key(&a.id))
            .map(|a| {
                format!(
                    "{}: line {}: the alias {} follows the edited anchor, as in yq",
                    self.file,
                    a.line,
                    &self.src[a.start..a.end]
                )
            })
            .collect()
    }

    /// Refuses to remove or replace a node whose anchors are used by aliases outside it:
    /// those aliases would point at nothing. `keep` is an anchor the replacement keeps.
    fn check_anchors(&self, node: &Node, keep: usize) -> Result<()> {
        let inside = node.start..node.end.max(node.start + 1);
        let ids: Vec<usize> = self
            .index
            .anchors
            .iter()
            .filter(|a| inside.contains(&a.start) && a.id != keep)
            .map(|a| a.id)
            .collect();
        let orphan = self
            .index
            .aliases
            .iter()
            .find(|a| ids.contains(&a.id) && !inside.contains(&a.start));
        if let Some(alias) = orphan {
            return Err(self.refuse(format!(
                "line {}: {} holds an anchor that the alias {} at line {} uses; change or remove the alias first",
                node.line,
                self.path_str(),
                &self.src[alias.start..alias.end],
                alias.line
            )));
        }
        Ok(())
    }

    /// The keys that the `<<` merge entries of a mapping bring in.
    fn merged_keys(&self, merges: &[&Entry]) -> Vec<Val> {
        let mut keys = Vec::new();
        let mut add = |v: Option<&Val>| {
            if let Some(Val::Obj(o)) = v {
                keys.extend(o.keys().cloned());
            }
        };
        for e in merges {
            match &e.value.kind {
                Kind::Alias(id) => add(self.anchors.get(id)),
                Kind::Seq { items, .. } => {
                    for i in items {
                        if let Kind::Alias(id) = i.node.kind {
                            add(self.anchors.get(&id));
                        }
                    }
                }
                _ => {}
            }
        }
        keys
    }

    /// `old` and `new` differ here; `trie` says where below.
    fn diff(
        &mut self,
        node: &Node,
        old: &Val,
        new: &Val,
        place: Place,
        trie: &PathTrie,
    ) -> Result<()> {
        if let Kind::Alias(id) = node.kind {
            return self.through_alias(node, id, new);
        }
        if node.anchor != 0 {
            self.edit_anchored(node, old, new)?;
        }
        self.refuse_a_valueless_key(node, place)?;
        if self.node_attrs(node, new, place)? {
            return Ok(());
        }
        if self.restyle_collection(node, new, place) {
            return Ok(());
        }
        self.line_comment(node, place);
        match (&node.kind, old, new) {
            (
                Kind::Map {
                    flow,
                    entries,
                    skipped,
                },
                Val::Obj(o),
                Val::Obj(n),
            ) => self.diff_map(
                node,
                *flow || place.flow,
                (entries, *skipped as usize),
                (o, n),
                place,
                trie,
            ),
            (Kind::Seq { flow, items }, Val::Arr(o), Val::Arr(n)) => {
                self.diff_seq(node, *flow || place.flow, items, (o, n), place, trie)
            }
            // An empty value that an attribute alone visits (`b: # note`) stays empty, not
            // `null`.
            (Kind::Scalar { .. }, Val::Null, Val::Null) if node.body == node.end => Ok(()),
            (Kind::Scalar { .. }, _, new) if render::inline(new, false).is_some() => {
                self.replace_scalar(node, new, place.flow);
                Ok(())
            }
            _ => self.replace_node(node, new, place),
        }
    }

    /// A collection the expression asked to write in flow style (`style="flow"`) or in
    /// block style (`style=""`), when it is written otherwise: rewritten whole, from its
    /// new value. True when done. Not for anchored collections, nor in flow context,
    /// where a collection can only be flow.
    fn restyle_collection(&mut self, node: &Node, new: &Val, place: Place) -> bool {
        let Some(&asked) = self.styles.get(&self.path_str()) else {
            return false;
        };
        let flow_node = match (&node.kind, new) {
            (Kind::Map { flow, .. }, Val::Obj(o)) if !o.is_empty() => *flow,
            (Kind::Seq { flow, .. }, Val::Arr(a)) if !a.is_empty() => *flow,
            _ => return false,
        };
        if node.anchor != 0 || place.flow {
            return false;
        }
        match (asked, flow_node) {
            (Style::Flow, false) => {
                let text = render::flow_text(new);
                let (start, text) = self.inline_replacement(node, place, "", &text);
                self.edit(start, node.end, text);
                true
            }
            (Style::Plain, true) if bracketed(self.src, node) => {
                let end = flow_close(self.src, node.start, node.end).unwrap_or(node.end);
                let end = past_line_end_blanks(self.src, end);
                let (start, text) = match place.at {
                    At::Value { key_col, after } => (after, self.block_value(new, key_col, "")),
                    At::Item { dash } => self.block_item(new, dash, "", None),
                    At::Root => self.block_root(node, new, ""),
                };
                self.edit(start, end, text);
                true
            }
            _ => false,
        }
    }

    /// The line comment asked for after a scalar in block context (yq's `line_comment`):
    /// written after it on its line (`# ` in front unless it starts with `#`), in place of
    /// the comment there; `""` removes that comment. Not after a block scalar, whose
    /// comment stands on its header line, nor after an empty value.
    fn line_comment(&mut self, node: &Node, place: Place) {
        let Some(text) = self.comments.get(&self.path_str()) else {
            return;
        };
        let Kind::Scalar { style, .. } = &node.kind else {
            return;
        };
        let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            || matches!(
                self.styles.get(&self.path_str()),
                Some(Style::Literal | Style::Folded)
            );
        if place.flow || block {
            return;
        }
        if node.end <= node.body {
            // An empty value (`b: # note`): the comment stands after the key's `:`.
            let text = text.clone();
            return self.after_colon_comment(place, &text);
        }
        let src = self.src;
        let line_end = src[node.end..]
            .find(['\r', '\n'])
            .map_or(src.len(), |n| node.end + n);
        let rest = &src[node.end..line_end];
        let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let (start, lead) = if rest[gap..].starts_with('#') {
            if text.is_empty() {
                (node.end, "")
            } else {
                (node.end + gap, "")
            }
        } else if rest[gap..].is_empty() {
            (node.end, " ")
        } else {
            // Something else follows on the line: no comment can go there.
            return;
        };
        let comment = if text.is_empty() {
            String::new()
        } else if text.starts_with('#') {
            format!("{lead}{text}")
        } else {
            format!("{lead}# {text}")
        };
        let end = if text.is_empty() || !rest[gap..].is_empty() {
            line_end
        } else {
            node.end + gap
        };
        let text = comment;
        self.edit(start, end, text);
    }

    /// An alias whose value changed: fine when its anchor changes the same way (the alias
    /// follows it), refused otherwise.
    fn through_alias(&self, node: &Node, id: usize, new: &Val) -> Result<()> {
        if self.changed.get(&id).is_some_and(|v| same(new, v)) {
            return Ok(());
        }
        Err(self.refuse(format!(
            "line {}: {} is an alias ({}); an edit through an alias would change its anchor too: edit the anchored value instead",
            node.line,
            self.path_str(),
            &self.src[node.start..node.end]
        )))
    }

    /// An anchored node edited: refused when it moves or breaks a merge, else noted, and
    /// its aliases follow it.
    fn edit_anchored(&mut self, node: &Node, old: &Val, new: &Val) -> Result<()> {
        self.refuse_a_move(node, old)?;
        self.refuse_a_broken_merge(node, new)?;
        self.changed.insert(node.anchor as usize, new.clone());
        self.notes.push(format!(
            "{}: line {}: edited the value anchored as {}; its aliases follow it",
            self.file,
            node.line,
            anchor_name(self.src, node)
        ));
        Ok(())
    }

    fn refuse_a_valueless_key(&self, node: &Node, place: Place) -> Result<()> {
        if !place.flow
            && matches!(place.at, At::Value { .. })
            && node.body == node.end
            && !self.src[..node.start].trim_end().ends_with(':')
        {
            // `? key` with no `:` line: a value needs one, on a line of its own.
            return Err(self.refuse(format!(
                "line {}: {} is an explicit key (`? key`) with no value; give it one by hand (`key:` or a `:` line) and run again",
                node.line,
                self.path_str()
            )));
        }
        Ok(())
    }

    fn diff_map(
        &mut self,
        node: &Node,
        flow: bool,
        (entries, skipped): (&[Entry], usize),
        (old, new): (&jaq_json::Map, &jaq_json::Map),
        place: Place,
        trie: &PathTrie,
    ) -> Result<()> {
        let merges: Vec<&Entry> = entries.iter().filter(|e| is_merge_key(&e.key)).collect();
        let walked = self.diff_entries(entries, flow, (old, new), !merges.is_empty(), trie)?;
        // The entries no path reaches stay, unseen.
        let kept = skipped + walked.kept;
        let mut removed = walked.removed;
        let mut added: Vec<(Val, Val)> = new
            .iter()
            .filter(|(k, _)| !old.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let kept = kept + self.rename_keys(entries, (&mut removed, &mut added), old);
        self.check_merges(node, entries, &merges, &walked.local, &removed, (old, new))?;
        for &i in &removed {
            self.path
                .push(path_part(key_string(&entries[i].key).unwrap_or_default()));
            let checked = self.check_anchors(&entries[i].value, 0);
            self.path.pop();
            checked?;
        }
        if self.needs_rewrite(node, flow, kept, &merges, &removed, &added) {
            return self.replace_node(node, &Val::obj(new.clone()), place);
        }
        let spans: Vec<(usize, usize, usize)> = entries
            .iter()
            .map(|e| {
                let start = entry_start(self.src, e.key.start);
                (start, node_end(self.src, e), start)
            })
            .collect();
        self.remove_all(node, flow, &spans, &removed);
        if !added.is_empty() {
            self.add_entries(node, flow, (entries, skipped), &added);
        }
        Ok(())
    }

    /// Walks a mapping's entries: recurses into each whose value changed along `trie`, and
    /// notes those the new value no longer has. `merges`: whether the mapping has `<<`
    /// entries, for which the keys written in it are collected.
    fn diff_entries(
        &mut self,
        entries: &[Entry],
        flow: bool,
        (old, new): (&jaq_json::Map, &jaq_json::Map),
        merges: bool,
        trie: &PathTrie,
    ) -> Result<Walked> {
        let mut walked = Walked::default();
        // The loaded object's keys follow the entries in order (merge keys and repeated
        // empty keys aside), which gives a complex key the value jq sees for it.
        let mut old_keys = old.keys();
        let mut empty_key = false;
        for (i, e) in entries.iter().enumerate() {
            if is_merge_key(&e.key) {
                continue;
            }
            let plain = key_string(&e.key);
            let repeated_empty = repeated_empty_key(e, plain, &mut empty_key);
            let loaded = if repeated_empty {
                None
            } else {
                old_keys.next()
            };
            let Some(k) = plain.filter(|_| !repeated_empty) else {
                self.refuse_unaddressable(e, repeated_empty, loaded, (old, new))?;
                walked.kept += 1;
                continue;
            };
            let k = k.to_string();
            let kv = Val::from(k.clone());
            if merges {
                walked.local.insert(kv.clone());
            }
            let Some(nv) = new.get(&kv) else {
                walked.removed.push(i);
                continue;
            };
            walked.kept += 1;
            let (Some(child_trie), Some(ov)) = (trie.key(&k), old.get(&kv)) else {
                continue;
            };
            self.diff_value(e, &k, flow, (ov, nv), child_trie)?;
        }
        Ok(walked)
    }

    /// Recurses into the value of the entry `e`, whose key is `k`.
    fn diff_value(
        &mut self,
        e: &Entry,
        k: &str,
        flow: bool,
        (old, new): (&Val, &Val),
        trie: &PathTrie,
    ) -> Result<()> {
        let after = self.after_colon(&e.key);
        let child = Place {
            flow,
            at: At::Value {
                key_col: col(self.src, e.key.start),
                after,
            },
        };
        self.path.push(path_part(k));
        self.diff(&e.value, old, new, child, trie)?;
        self.path.pop();
        Ok(())
    }

    /// An entry jq cannot address (`? [a]`, `*k :`, a second `:`) stays as it is, and so
    /// must what jq saw of it (`loaded`, its key in the old value).
    fn refuse_unaddressable(
        &self,
        e: &Entry,
        repeated_empty: bool,
        loaded: Option<&Val>,
        (old, new): (&jaq_json::Map, &jaq_json::Map),
    ) -> Result<()> {
        let unchanged = match loaded {
            Some(kv) => new.get(kv).is_some_and(|nv| same(nv, &old[kv])),
            None => {
                let kv = Val::from(String::new());
                new.get(&kv).is_some_and(|nv| same(nv, &old[&kv]))
            }
        };
        if unchanged {
            return Ok(());
        }
        let why = if repeated_empty {
            "more than one empty key"
        } else {
            "a complex key (a mapping, sequence or alias as a key)"
        };
        Err(self.refuse(format!(
            "line {}: {} has {why}, which jq cannot tell apart; edit that entry by hand",
            e.key.line,
            self.path_str()
        )))
    }

    /// Refuses what a `<<` merge would undo: an edit of a merged key (it is not written in
    /// this mapping), and a delete that would bring the merged value back. `local`: the
    /// keys written in the mapping.
    fn check_merges(
        &self,
        node: &Node,
        entries: &[Entry],
        merges: &[&Entry],
        local: &HashSet<Val>,
        removed: &[usize],
        (old, new): (&jaq_json::Map, &jaq_json::Map),
    ) -> Result<()> {
        if merges.is_empty() {
            return Ok(());
        }
        for (k, ov) in old.iter() {
            if local.contains(k) {
                continue;
            }
            let from = merges.first().map_or(node.line, |e| e.key.line);
            if !new.get(k).is_some_and(|nv| same(ov, nv)) {
                return Err(self.refuse(format!(
                    "line {from}: `{k}` under {} comes from a `<<` merge key; edit the merged mapping, or set `{k}` explicitly in this mapping",
                    self.path_str()
                )));
            }
        }
        if removed.is_empty() {
            return Ok(());
        }
        let merged = self.merged_keys(merges);
        for &i in removed {
            let k = key_string(&entries[i].key).unwrap_or_default().to_string();
            if merged.contains(&Val::from(k.clone())) {
                return Err(self.refuse(format!(
                    "line {}: deleting `{k}` from {} would bring back the value that the `<<` merge key supplies; set `{k}` to the value you want instead",
                    entries[i].key.line,
                    self.path_str()
                )));
            }
        }
        Ok(())
    }

    /// Whether the mapping is written anew rather than edited entry by entry.
    fn needs_rewrite(
        &self,
        node: &Node,
        flow: bool,
        kept: usize,
        merges: &[&Entry],
        removed: &[usize],
        added: &[(Val, Val)],
    ) -> bool {
        // Nothing of the old mapping stays: it is replaced whole. (A block mapping cannot
        // be empty, so `{}` is written as such; and added keys have no entry left to be
        // written after.)
        let emptied = kept == 0 && merges.is_empty() && !removed.is_empty();
        // `[a: b]`: a single pair without braces cannot take another; it gets them. (Its
        // one entry is then kept, so nothing is removed before.)
        let unbraced = !added.is_empty() && flow && !bracketed(self.src, node);
        emptied || unbraced
    }

    fn diff_seq(
        &mut self,
        node: &Node,
        flow: bool,
        items: &[Item],
        (old, new): (&[Val], &[Val]),
        place: Place,
        trie: &PathTrie,
    ) -> Result<()> {
        let (o, n) = (old.len(), new.len());
        if n == 0 {
            return self.replace_node(node, &Val::Arr(Vec::new().into()), place);
        }
        let spans: Vec<(usize, usize, usize)> = items
            .iter()
            .map(|i| (i.dash, i.node.end, i.node.start))
            .collect();
        if n > o && trie.is_leaf() {
            self.append_items(node, flow, items, &new[o..]);
            return Ok(());
        }
        if n < o {
            // Items removed from anywhere, the rest unchanged: delete exactly those.
            if let Some(removed) = removed_items(old, new) {
                for &i in &removed {
                    self.check_anchors(&items[i].node, 0)?;
                }
                self.remove_all(node, flow, &spans, &removed);
                return Ok(());
            }
        }
        self.diff_items(flow, items, (old, new), trie)?;
        if n > o {
            self.append_items(node, flow, items, &new[o..]);
        }
        for item in &items[n.min(o)..] {
            self.check_anchors(&item.node, 0)?;
        }
        let removed: Vec<usize> = (n..o).collect();
        self.remove_all(node, flow, &spans, &removed);
        Ok(())
    }

    /// Recurses into each item that `trie` reaches and both values have.
    fn diff_items(
        &mut self,
        flow: bool,
        items: &[Item],
        (old, new): (&[Val], &[Val]),
        trie: &PathTrie,
    ) -> Result<()> {
        for (i, (item, (a, b))) in items.iter().zip(old.iter().zip(new)).enumerate() {
            let Some(child_trie) = trie.item(i) else {
                continue;
            };
            let place = if flow {
                Place { flow, at: At::Root }
            } else {
                Place {
                    flow,
                    at: At::Item { dash: item.dash },
                }
            };
            self.path.push(format!("[{i}]"));
            self.diff(&item.node, a, b, place, child_trie)?;
            self.path.pop();
        }
        Ok(())
    }

    /// Just past the `:` that follows a key.
    fn after_colon(&self, key: &Node) -> usize {
        let b = self.src.as_bytes();
        let mut i = key.end;
        while i < b.len() && b[i] != b':' {
            i += 1;
        }
        (i + 1).min(b.len())
    }

    /// Removes element `i` of a collection, given each element's (first byte, end, head),
    /// where head is where its own text begins (a key, or an item's dash).
    /// Removes the elements `removed` (ascending). In a flow collection, each run of
    /// neighbours goes in one edit, so that their separators are not taken twice: a run
    /// with an element after it takes up to that element; a run at the end takes the
    /// separator before it.
    fn remove_all(
        &mut self,
        node: &Node,
        flow: bool,
        spans: &[(usize, usize, usize)],
        removed: &[usize],
    ) {
        if !flow {
            for &i in removed.iter().rev() {
                self.remove(node, flow, spans, i);
            }
            return;
        }
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &i in removed {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == i => *last = i,
                _ => runs.push((i, i)),
            }
        }
        for &(first, last) in runs.iter().rev() {
            let (s, e) = match (spans.get(last + 1), first.checked_sub(1).map(|p| spans[p])) {
                (Some(next), _) => (spans[first].0, next.0),
                (None, Some(prev)) => (prev.1, spans[last].1),
                (None, None) => (spans[first].0, spans[last].1),
            };
            self.edit(s, e, String::new());
        }
    }

    fn remove(&mut self, node: &Node, flow: bool, spans: &[(usize, usize, usize)], i: usize) {
        let src = self.src;
        let (start, end, _) = spans[i];
        if flow {
            // `a, b, c`: take the element and the separator after it; the last one takes
            // the separator before it.
            let (s, e) = match (spans.get(i + 1), i.checked_sub(1).map(|p| spans[p])) {
                (Some(next), _) => (start, next.0),
                (None, Some(prev)) => (prev.1, end),
                (None, None) => (start, end),
            };
            self.edit(s, e, String::new());
            return;
        }
        let ls = line_start(src, start);
        if !src[ls..start].trim().is_empty() {
            // The first entry of a mapping that is itself a sequence item (`- name: x`):
            // keep the dash, remove up to the next entry.
            match spans.get(i + 1) {
                Some(next) => self.edit(start, next.0, String::new()),
                None => self.edit(start, end, String::new()),
            }
            return;
        }
        // Whole lines, with the comment lines directly above at the same indentation.
        let indent = start - ls;
        let mut s = ls;
        while s > 0 {
            let prev = line_start(src, s - 1);
            let line = &src[prev..s];
            let trimmed = line.trim_start_matches([' ', '\t']);
            if trimmed.starts_with('#')
                && line.len() - trimmed.len() == indent
                && prev >= node.start.min(ls)
            {
                s = prev;
            } else {
                break;
            }
        }
        let mut e = after_line(src, end);
        if e == src.len() && !src.ends_with('\n') && s > 0 {
            // The last line has no line break: take the one before it instead, so the file
            // still ends without one.
            s -= 1;
            if s > 0 && src.as_bytes()[s - 1] == b'\r' {
                s -= 1;
            }
            e = src.len();
        }
        let _ = node;
        self.edit(s, e, String::new());
    }

    fn add_entries(
        &mut self,
        node: &Node,
        flow: bool,
        (entries, skipped): (&[Entry], usize),
        added: &[(Val, Val)],
    ) {
        if flow {
            let texts: Vec<String> = added
                .iter()
                .map(|(k, v)| format!("{}: {}", render::key(k, true), render::flow_text(v)))
                .collect();
            let heads: Vec<(usize, usize)> = entries
                .iter()
                .map(|e| (e.key.start, node_end(self.src, e)))
                .collect();
            self.flow_append(node, &heads, &texts);
            return;
        }
        let c = key_col(self.src, node.body);
        let lines = render::map_lines(added, c, self.layout);
        let last = entries.iter().map(|e| node_end(self.src, e)).max();
        // With entries not kept, the mapping's own end and last entry stand for them.
        let (last, kept) = if skipped > 0 {
            (last.unwrap_or(node.end).max(node.end), node.keeps_blank)
        } else {
            (
                last.unwrap_or(node.end),
                entries.last().is_some_and(|e| e.value.keeps_blank),
            )
        };
        self.insert_lines(last, &lines, kept);
    }

    fn append_items(&mut self, node: &Node, flow: bool, items: &[Item], added: &[Val]) {
        if flow {
            let texts: Vec<String> = added.iter().map(render::flow_text).collect();
            let heads: Vec<(usize, usize)> =
                items.iter().map(|i| (i.node.start, i.node.end)).collect();
            self.flow_append(node, &heads, &texts);
            return;
        }
        let c = items.first().map_or(0, |i| col(self.src, i.dash));
        let lines = render::seq_lines(added, c, self.layout);
        let last = items.last().map_or(node.end, |i| i.node.end);
        let kept = items.last().is_some_and(|i| i.node.keeps_blank);
        self.insert_lines(last, &lines, kept);
    }

    /// New block lines after the line that holds `last`; after the blank lines that follow
    /// it too when they are content (`keep_blank`: the end of a `|+` or `>+` scalar).
    fn insert_lines(&mut self, last: usize, lines: &[String], keep_blank: bool) {
        let nl = self.layout.newline;
        let mut pos = after_line(self.src, last);
        while keep_blank && pos < self.src.len() {
            let next = after_line(self.src, pos);
            if !self.src[pos..next].trim().is_empty() {
                break;
            }
            pos = next;
        }
        let body = lines.join(nl);
        let text = if pos == self.src.len() && !self.src.ends_with('\n') {
            format!("{nl}{body}")
        } else {
            format!("{body}{nl}")
        };
        self.edit(pos, pos, text);
    }

    /// New elements at the end of a flow collection, following its one-line or one-per-line
    /// layout and its trailing comma, if any.
    fn flow_append(&mut self, node: &Node, heads: &[(usize, usize)], texts: &[String]) {
        let src = self.src;
        let Some(&(last_start, last_end)) = heads.last() else {
            self.edit(node.body + 1, node.body + 1, texts.join(", "));
            return;
        };
        let multiline = line_start(src, last_start) != line_start(src, node.body);
        let sep = if multiline {
            format!(
                "{}{}",
                self.layout.newline,
                " ".repeat(col(src, last_start))
            )
        } else {
            " ".to_string()
        };
        let rest = &src[last_end..node.end];
        let comma = rest
            .find(|c: char| !c.is_whitespace())
            .filter(|&i| rest.as_bytes()[i] == b',');
        match comma {
            Some(i) => {
                let text: String = texts.iter().map(|t| format!("{sep}{t},")).collect();
                self.edit(last_end + i + 1, last_end + i + 1, text);
            }
            None => {
                let text: String = texts.iter().map(|t| format!(",{sep}{t}")).collect();
                self.edit(last_end, last_end, text);
            }
        }
    }

    fn replace_scalar(&mut self, node: &Node, new: &Val, flow: bool) {
        let src = self.src;
        let Kind::Scalar { style, .. } = &node.kind else {
            return;
        };
        let tag = node.tag.as_deref();
        let mut text = self.scalar_text(node, *style, tag, new, flow);
        let start = self.replaced_from(node, keeps_tag(tag, new));
        let mut end = node.end;
        let was_block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        if !flow && !was_block && text.starts_with(['|', '>']) {
            // A scalar made a block scalar (`style="literal"`): a comment after it on its
            // line would be read as content; it goes after the header.
            let line_end = src[end..].find(['\r', '\n']).map_or(src.len(), |n| end + n);
            let tail = src[end..line_end].trim();
            if tail.starts_with('#') {
                let cut = text.find(['\r', '\n']).unwrap_or(text.len());
                text = format!("{} {tail}{}", &text[..cut], &text[cut..]);
                end = line_end;
            }
        }
        let sep = src[..start].len() - src[..start].trim_end_matches([' ', '\t']).len();
        if !flow && src[start - sep..start].contains('\t') && !text.starts_with(['"', '\'']) {
            // saphyr-parser refuses a tab between `:` and most plain scalars (`a:\tx`),
            // though it read this file's value after one (`a:\t=x`): the new value gets a
            // space instead, or the file would no longer load.
            self.edit(start - sep, node.end, format!(" {text}"));
            return;
        }
        if flow && start == node.end && !src[..start].trim_end().ends_with(':') {
            // A flow mapping's key with no `:` at all (`{a}`, `{a, b: 1}`): the value
            // needs the indicator too.
            text.insert_str(0, ": ");
        } else if start == node.end && start > 0 && !src.as_bytes()[start - 1].is_ascii_whitespace()
        {
            // `key:` with no value: the new value needs a space after the colon.
            text.insert(0, ' ');
        }
        if start == node.end
            && src[line_start(src, start)..start]
                .trim_start()
                .starts_with('#')
        {
            // An empty document whose last line is a comment: the parser puts its empty
            // value after the comment, where a value would be comment too.
            text = format!("{}{}", self.layout.newline, text.trim_start_matches(' '));
        }
        if start == node.end && !flow {
            // `key: ` with no value: the blanks that ended the line would end it after the
            // value.
            end = past_line_end_blanks(src, end);
        }
        self.edit(start, end, text);
    }

    /// A scalar's new text, in its old style where the value can be written in it.
    fn scalar_text(
        &self,
        node: &Node,
        style: ScalarStyle,
        tag: Option<&str>,
        new: &Val,
        flow: bool,
    ) -> String {
        let (Val::TStr(s) | Val::BStr(s)) = new else {
            return render::inline(new, flow).unwrap_or_default();
        };
        let s = String::from_utf8_lossy(s);
        if let Some(asked) = self.styles.get(&self.path_str()) {
            if let Some(text) = self.asked_text(node, style, tag, &s, *asked, flow) {
                return text;
            }
        }
        // A plain timestamp moved to another (`.a += "3h"`) stays plain: a reader typed
        // it as a timestamp before and does again, as yq writes a `!!timestamp`
        // (pkg/yqlib/operator_add.go, `addDateTimes`, keeps the node's style).
        let old = &self.src[node.body.max(node.start)..node.end];
        let timestamp = render::is_timestamp(old) && render::is_timestamp(&s);
        match style {
            ScalarStyle::Plain => match render::plain(&s, flow) {
                Plain::Ok => s.into_owned(),
                Plain::Resolves if matches!(tag, Some("!" | "!!str")) => s.into_owned(),
                Plain::Resolves if timestamp && tag.is_none() => s.into_owned(),
                _ => render::double_quoted(&s),
            },
            ScalarStyle::SingleQuoted => {
                render::single_quoted(&s).unwrap_or_else(|| render::double_quoted(&s))
            }
            ScalarStyle::Literal | ScalarStyle::Folded if !flow => self
                .block_scalar(node, &s)
                .unwrap_or_else(|| render::double_quoted(&s)),
            _ => render::double_quoted(&s),
        }
    }

    /// A string scalar's text in the style the expression asked for (`style="double"`);
    /// `None` where the node keeps its own (a collection's style, a block scalar in flow
    /// context). Where the value cannot be written in the style asked for, it is written
    /// as yq writes it then: double-quoted.
    fn asked_text(
        &self,
        node: &Node,
        old: ScalarStyle,
        tag: Option<&str>,
        s: &str,
        asked: Style,
        flow: bool,
    ) -> Option<String> {
        Some(match asked {
            Style::Double => render::double_quoted(s),
            Style::Single => render::single_quoted(s).unwrap_or_else(|| render::double_quoted(s)),
            Style::Plain => match render::plain(s, flow) {
                Plain::Ok => s.to_string(),
                Plain::Resolves if matches!(tag, Some("!" | "!!str")) => s.to_string(),
                _ => render::double_quoted(s),
            },
            Style::Literal | Style::Folded if flow => render::double_quoted(s),
            Style::Literal | Style::Folded => {
                let indicator = if asked == Style::Literal { '|' } else { '>' };
                let same = matches!(
                    (old, asked),
                    (ScalarStyle::Literal, Style::Literal) | (ScalarStyle::Folded, Style::Folded)
                );
                let kept = if same {
                    self.block_scalar(node, s)
                } else {
                    self.new_block_scalar(node, s, indicator)
                };
                kept.unwrap_or_else(|| render::double_quoted(s))
            }
            Style::Flow => return None,
        })
    }

    /// A block scalar for a node that was not one: the header `|` or `>` with the chomping
    /// the value needs, the content one step in from the parent. `None` when the value
    /// cannot be written so (yq then writes it double-quoted).
    fn new_block_scalar(&self, node: &Node, s: &str, indicator: char) -> Option<String> {
        let (content, chomp) = block_content(s)?;
        let lines: Vec<&str> = content.split('\n').collect();
        // Leading white space would need an indentation indicator, and trailing white space
        // on a folded line changes when folded: such values are written double-quoted.
        if lines.iter().any(|l| l.starts_with([' ', '\t']))
            || (indicator == '>' && lines.iter().any(|l| l.ends_with([' ', '\t'])))
        {
            return None;
        }
        // One step in from the key, or from the dash of a sequence item (`- |-`).
        let before = &self.src[line_start(self.src, node.body)..node.body];
        let parent = match before.trim_end().strip_suffix('-') {
            Some(dash) => dash.len(),
            None => block_parent_indent(self.src, node.body),
        };
        let indent = parent + self.layout.step;
        Some(block_body(
            format!("{indicator}{chomp}"),
            &lines,
            indicator == '>',
            indent,
            self.layout.newline,
        ))
    }

    /// The indentation of a block scalar's content: its indentation indicator's, else its
    /// old lines', else one step below the parent's. `body`: the text after the header.
    fn content_indent(&self, body: &str, explicit: Option<usize>, header_indent: usize) -> usize {
        let min_indent = body
            .split('\n')
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .min();
        match (explicit, min_indent) {
            (Some(d), _) => header_indent + d,
            (None, Some(m)) => m,
            (None, None) => header_indent + self.layout.step,
        }
    }

    /// Where a scalar's replacement starts: at its tag when the tag goes, else at its value.
    fn replaced_from(&self, node: &Node, keeps_tag: bool) -> usize {
        let mut start = node.body;
        if !keeps_tag {
            if let Some(i) = self.src[node.start..node.body].find('!') {
                start = node.start + i;
                if start == node.start {
                    // Nothing but the tag before the value: drop the space after it too.
                    start = node.start;
                }
            }
        }
        start
    }

    /// A block scalar's new text, keeping its header (indicator, indentation indicator and
    /// comment) and its indentation. `None` when the value cannot be written in this style.
    fn block_scalar(&self, node: &Node, s: &str) -> Option<String> {
        let src = self.src;
        let region = &src[node.body..node.end];
        let header_end = region.find('\n').unwrap_or(region.len());
        let header = region[..header_end].trim_end_matches('\r');
        let tok_len = header.find([' ', '\t']).unwrap_or(header.len());
        let (tok, comment) = header.split_at(tok_len);
        let indicator = tok.chars().next()?;
        // A block scalar cannot escape: a character a reader cannot take raw, or one that
        // YAML 1.1 and 1.2 read differently (U+2028 is a line break to go-yaml), sends the
        // value to the double-quoted style.
        if tok.contains('+') {
            return None;
        }
        let explicit = tok.chars().find_map(|c| c.to_digit(10)).map(|d| d as usize);
        let (content, chomp) = block_content(s)?;
        let header_indent = block_parent_indent(src, node.body);
        let indent = self.content_indent(&region[header_end..], explicit, header_indent);
        let lines: Vec<&str> = content.split('\n').collect();
        let leading_space = lines
            .iter()
            .find(|l| !l.is_empty())
            .is_some_and(|l| l.starts_with([' ', '\t']));
        let mut indicator = indicator;
        if indicator == '>'
            && lines
                .iter()
                .any(|l| l.starts_with([' ', '\t']) || l.ends_with([' ', '\t']))
        {
            // Folding would change such lines; a literal block keeps them exactly.
            indicator = '|';
        }
        let digit = match explicit {
            Some(d) => d.to_string(),
            None if leading_space => {
                let d = indent
                    .checked_sub(header_indent)
                    .filter(|d| (1..=9).contains(d))?;
                d.to_string()
            }
            None => String::new(),
        };
        let head = format!("{indicator}{digit}{chomp}{comment}");
        Some(block_body(
            head,
            &lines,
            indicator == '>',
            indent,
            self.layout.newline,
        ))
    }

    /// Replaces a whole node: a type change, or a collection that must become empty.
    fn replace_node(&mut self, node: &Node, new: &Val, place: Place) -> Result<()> {
        self.check_anchors(node, node.anchor as usize)?;
        let anchor = if node.anchor != 0 {
            format!("{} ", anchor_name(self.src, node))
        } else {
            String::new()
        };
        // A flow collection replaced by a collection stays a flow collection, in place.
        let flow_node = matches!(
            node.kind,
            Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
        );
        let collection = matches!(new, Val::Obj(_) | Val::Arr(_));
        let inline = render::inline(new, place.flow)
            .or_else(|| (flow_node && collection).then(|| render::flow_text(new)));
        let end = if flow_node && bracketed(self.src, node) {
            flow_close(self.src, node.start, node.end).unwrap_or(node.end)
        } else {
            node.end
        };
        // A comment after the key's colon or the item's dash, when the old value began on a
        // later line (`key: # why`), is kept where it was.
        let comment = match place.at {
            At::Value { after, .. } if !place.flow => trailing_comment(self.src, after, node.start),
            At::Item { dash } if !place.flow => trailing_comment(self.src, dash + 1, node.start),
            _ => None,
        };
        if let Some(text) = inline {
            let (start, text) = self.inline_replacement(node, place, &anchor, &text);
            let text = match comment {
                Some(c) => format!("{text}{}", &self.src[c.clone()]),
                None => text,
            };
            self.edit(start, end, text);
            return Ok(());
        }
        let anchor = anchor.trim_end();
        // Spaces that ended the old value's last line would end the new lines' last one.
        let end = past_line_end_blanks(self.src, end);
        let (start, text) = match place.at {
            At::Value { key_col, after } => {
                let start = comment.map_or(after, |c| c.end);
                (start, self.block_value(new, key_col, anchor))
            }
            At::Item { dash } => self.block_item(new, dash, anchor, comment),
            At::Root => self.block_root(node, new, anchor),
        };
        self.edit(start, end, text);
        Ok(())
    }

    /// Where a node's one-line replacement `text` starts, and the text written there:
    /// after the key's colon or the item's dash, or in the node's place.
    fn inline_replacement(
        &self,
        node: &Node,
        place: Place,
        anchor: &str,
        text: &str,
    ) -> (usize, String) {
        match place.at {
            At::Value { after, .. } if !place.flow => (after, format!(" {anchor}{text}")),
            At::Item { dash } if !place.flow => (dash + 1, format!(" {anchor}{text}")),
            At::Value { .. }
                if node.start == node.end && !self.src[..node.start].trim_end().ends_with(':') =>
            {
                // A flow mapping's key with no `:` at all (`{a, b}`).
                (node.start, format!(": {anchor}{text}"))
            }
            At::Value { .. } if node.start == node.end && self.src[..node.start].ends_with(':') => {
                // `{a:, b}` or `{:}`: a flow collection right after the colon would not
                // parse (`:[` is no indicator).
                (node.start, format!(" {anchor}{text}"))
            }
            _ => (node.start, format!("{anchor}{text}")),
        }
    }

    /// A mapping value written as block lines below its key, the anchor (if any) kept after
    /// the colon.
    fn block_value(&self, new: &Val, key_col: usize, anchor: &str) -> String {
        let nl = self.layout.newline;
        let lines = render::block_lines(new, key_col, true, self.layout);
        let lead = if anchor.is_empty() {
            String::new()
        } else {
            format!(" {anchor}")
        };
        format!("{lead}{nl}{}", lines.join(nl))
    }

    /// A sequence item written as a compact block collection after its dash (below it when
    /// a comment or an anchor stands there); where it starts and its text.
    fn block_item(
        &self,
        new: &Val,
        dash: usize,
        anchor: &str,
        comment: Option<Range<usize>>,
    ) -> (usize, String) {
        let nl = self.layout.newline;
        let c = col(self.src, dash);
        let lines = match new {
            Val::Arr(a) => render::seq_lines(a, c + 2, self.layout),
            Val::Obj(o) => {
                let entries: Vec<(Val, Val)> =
                    o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                render::map_lines(&entries, c + 2, self.layout)
            }
            _ => Vec::new(),
        };
        let first = lines.first().map_or("", |l| l.trim_start());
        let rest: String = lines.iter().skip(1).map(|l| format!("{nl}{l}")).collect();
        let lead = if anchor.is_empty() {
            String::new()
        } else {
            format!(" {anchor}{nl}{}", " ".repeat(c + 2))
        };
        match comment {
            Some(cm) => {
                let lead = if anchor.is_empty() {
                    String::new()
                } else {
                    format!(" {anchor}")
                };
                let indent = " ".repeat(c + 2);
                (cm.end, format!("{lead}{nl}{indent}{first}{rest}"))
            }
            None if lead.is_empty() => (dash + 1, format!(" {first}{rest}")),
            None => (dash + 1, format!("{lead}{first}{rest}")),
        }
    }

    /// The root node written as a document; where it starts and its text.
    fn block_root(&self, node: &Node, new: &Val, anchor: &str) -> (usize, String) {
        let nl = self.layout.newline;
        let doc = render::document(new, self.layout);
        let body = doc.strip_suffix(nl).unwrap_or(&doc);
        // The rendered lines start at column 0: an indented root (` a: 1`) gives up
        // its indentation, and a root after `---` on its line starts below it.
        let ls = line_start(self.src, node.start);
        let before = &self.src[ls..node.start];
        let (start, lead) = if before.trim().is_empty() {
            (ls, String::new())
        } else {
            (ls + before.trim_end().len(), format!(" {anchor}"))
        };
        let text = match (lead.trim().is_empty(), anchor.is_empty()) {
            (true, true) if start == ls => body.to_string(),
            (true, false) if start == ls => format!("{anchor}{nl}{body}"),
            (_, true) => format!("{nl}{body}"),
            (_, false) => format!("{lead}{nl}{body}"),
        };
        (start, text)
    }
}

/// Whether `e`'s key is an empty plain key after another empty key (`seen_empty`, which
/// this sets on the first).
fn repeated_empty_key(e: &Entry, plain: Option<&str>, seen_empty: &mut bool) -> bool {
    plain == Some("")
        && std::mem::replace(seen_empty, true)
        && matches!(
            &e.key.kind,
            Kind::Scalar {
                style: ScalarStyle::Plain,
                ..
            }
        )
        && e.key.tag.is_none()
}

/// When `new` is `old` with items removed from anywhere and the rest unchanged, in order:
/// the positions of the removed items (ascending).
fn removed_items(old: &[Val], new: &[Val]) -> Option<Vec<usize>> {
    let n = new.len();
    let mut removed = Vec::with_capacity(old.len() - n);
    let mut j = 0;
    for (i, a) in old.iter().enumerate() {
        if j < n && same(a, &new[j]) {
            j += 1;
        } else {
            removed.push(i);
        }
    }
    (j == n).then_some(removed)
}

/// Whether a scalar's tag still fits its new value: a core-schema tag that no longer does
/// goes; an anchor stays.
fn keeps_tag(tag: Option<&str>, new: &Val) -> bool {
    match (tag, new) {
        (Some("!" | "!!str"), Val::TStr(_) | Val::BStr(_)) => true,
        (Some("!!int" | "!!float"), Val::Num(_)) => true,
        (Some("!!bool"), Val::Bool(_)) => true,
        (Some("!!null"), Val::Null) => true,
        // `!` makes a string; a local tag (`!secret`) is the application's, kept.
        (Some(t), _) => t != "!" && !t.starts_with("!!"),
        (None, _) => true,
    }
}

/// An indentation indicator counts from the parent node's indentation: the key's
/// column for a mapping value (after any `- ` of a compact mapping in a sequence),
/// the dash's for a sequence item.
fn block_parent_indent(src: &str, body: usize) -> usize {
    let ls = line_start(src, body);
    let line = &src[ls..];
    let mut col = line.len() - line.trim_start_matches(' ').len();
    let mut dash = col;
    let mut rest = &line[col..];
    while let Some(r) = rest
        .strip_prefix('-')
        .filter(|r| r.starts_with([' ', '\t']))
    {
        dash = col;
        let gap = r.len() - r.trim_start_matches([' ', '\t']).len();
        col += 1 + gap;
        rest = &r[gap..];
    }
    if rest.starts_with(['|', '>']) {
        dash
    } else {
        col
    }
}

/// A block scalar's text: its header, then each line of content at `indent`.
fn block_body(head: String, lines: &[&str], folded: bool, indent: usize, nl: &str) -> String {
    let pad = " ".repeat(indent);
    let mut out = head;
    for (i, line) in lines.iter().enumerate() {
        // Folding turns a single line break after text into a space, so a run of k
        // line breaks after a text line is written as k + 1.
        if folded && i > 0 && !lines[i - 1].is_empty() {
            out.push_str(nl);
        }
        out.push_str(nl);
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

fn path_part(k: &str) -> String {
    if !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with(|c: char| c.is_ascii_digit())
    {
        format!(".{k}")
    } else {
        format!("[{}]", render::double_quoted(k))
    }
}

/// Applies edits, which must not overlap, from the end of the text backwards.
pub fn apply(src: &str, edits: Vec<Edit>) -> Result<String> {
    // Built front to back in one pass: replacing ranges in place moved the whole tail for
    // each edit, quadratic in a file with a change in each of 320,000 documents. Insertions
    // at one place come in the order they were made (a key added to a sequence's last
    // item, then an item appended after it).
    let mut edits: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    edits.sort_by_key(|(i, e)| (e.start, e.end, *i));
    let added: usize = edits.iter().map(|(_, e)| e.text.len()).sum();
    let mut out = String::with_capacity(src.len() + added);
    let mut at = 0;
    for (_, e) in edits {
        if e.start < at || e.start > e.end || e.end > src.len() {
            return Err(Error::Internal(format!(
                "overlapping edits at bytes {}..{}",
                e.start, e.end
            )));
        }
        out.push_str(&src[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&src[at..]);
    Ok(out)
}

/// The text a block scalar would hold for `s`, and its chomping indicator (`-` without a
/// final line break, none with one); `None` when a block scalar cannot hold `s`: a control
/// character, several final line breaks, or nothing but line breaks before the text.
fn block_content(s: &str) -> Option<(&str, &'static str)> {
    let raw_ok = |c: char| (!c.is_control() || c == '\n' || c == '\t') && render::is_printable(c);
    if !s.chars().all(raw_ok) {
        return None;
    }
    let (content, chomp) = match s.strip_suffix('\n') {
        Some(rest) if rest.ends_with('\n') => return None,
        Some(rest) => (rest, ""),
        None => (s, "-"),
    };
    if content.is_empty() || content.starts_with('\n') {
        return None;
    }
    Some((content, chomp))
}
