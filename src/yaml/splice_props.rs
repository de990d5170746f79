//! yq's node attributes besides style and line comments, written by the splice: anchors and
//! aliases (`pkg/yqlib/operator_anchors_aliases.go`), tags (`operator_tag.go`), head and
//! foot comments and a key's line comment (`operator_comments.go`). Each touches only the
//! bytes of the property or the comment lines it sets; what the walk cannot place is noted
//! on stderr rather than written somewhere else.

use jaq_json::Val;

use super::super::comments::{comment_block_start, foot_block_end};
use saphyr_parser::ScalarStyle;

use super::super::index::{key_string, Entry, Kind, Node};
use super::super::render::{self, Plain};
use super::super::schema::same;
use super::super::style::Attr;
use super::super::text::{after_line, line_start};
use super::{At, Place, Walker};
use crate::error::Result;

impl Walker<'_> {
    /// The attributes asked for at this node (`Walker::restyle`). True when the node was
    /// written whole (as an alias), so the walk goes no further into it.
    pub(super) fn node_attrs(&mut self, node: &Node, new: &Val, place: Place) -> Result<bool> {
        let Some(asked) = self.attrs.get(&self.path_str()).cloned() else {
            return Ok(false);
        };
        if let Some(name) = asked.iter().rev().find_map(|a| match a {
            Attr::Alias(n) => Some(n),
            _ => None,
        }) {
            self.write_alias(node, place, name)?;
            return Ok(true);
        }
        for attr in &asked {
            match attr {
                Attr::Anchor(name) => self.set_anchor(node, place, name)?,
                Attr::Tag(tag) => self.set_tag(node, new, place, tag),
                Attr::HeadComment(text) => self.head_comment(node, place, text),
                Attr::FootComment(text) => self.foot_comment(node, place, text),
                Attr::Key(inner) => match &**inner {
                    Attr::LineComment(text) => self.after_colon_comment(place, text),
                    Attr::HeadComment(text) => self.head_comment(node, place, text),
                    _ => self.not_written(node, "that attribute of a key"),
                },
                _ => {}
            }
        }
        Ok(false)
    }

    fn not_written(&mut self, node: &Node, what: &str) {
        self.notes.push(format!(
            "{}: line {}: {what} of {} was not written: gitops-update cannot place it there",
            self.file,
            node.line,
            self.path_str()
        ));
    }

    /// A block collection, whose properties go on the line before its content.
    fn is_block(node: &Node, place: Place) -> bool {
        !place.flow
            && matches!(
                node.kind,
                Kind::Map { flow: false, .. } | Kind::Seq { flow: false, .. }
            )
    }

    /// Writes a property (`&name`, `!tag`) in front of a node that has none of its kind:
    /// before a scalar or a flow collection, after the `:` of a block collection's key, or
    /// on its own line before a block root.
    fn add_property(&mut self, node: &Node, place: Place, prop: &str, what: &str) {
        let empty = node.start == node.end;
        match (Self::is_block(node, place), place.at) {
            (false, _) if !empty => self.edit(node.start, node.start, format!("{prop} ")),
            (true, At::Value { after, .. }) => self.edit(after, after, format!(" {prop}")),
            (true, At::Root) if line_start(self.src, node.start) == node.start => {
                let nl = self.layout.newline;
                self.edit(node.start, node.start, format!("{prop}{nl}"));
            }
            _ => self.not_written(node, what),
        }
    }

    /// The byte range of the property token that starts with `sigil` among the node's
    /// properties, with the blanks after it.
    fn property(&self, node: &Node, sigil: char) -> Option<(usize, usize, usize)> {
        let props = self.src.get(node.start..node.body)?;
        let mut at = 0;
        for tok in props.split_inclusive([' ', '\t', '\n']) {
            let word = tok.trim_end();
            if word.starts_with(sigil) {
                let start = node.start + at;
                return Some((start, start + word.len(), start + tok.len()));
            }
            at += tok.len();
        }
        None
    }

    /// yq's `anchor = name`: replaces or adds the node's anchor; `""` removes it. Renaming
    /// or removing one that an alias uses is refused: the alias would point at nothing.
    fn set_anchor(&mut self, node: &Node, place: Place, name: &str) -> Result<()> {
        match self.property(node, '&') {
            Some((start, _, past)) if name.is_empty() => {
                self.check_anchors(node, 0)?;
                self.edit(start, past, String::new())
            }
            Some((start, end, _)) => {
                self.check_anchors(node, 0)?;
                self.edit(start, end, format!("&{name}"))
            }
            None if name.is_empty() => {}
            None => self.add_property(node, place, &format!("&{name}"), "the anchor"),
        }
        Ok(())
    }

    /// yq's `tag = t`: written where the value does not already read as that tag (`!!str`
    /// on a string is written as the string is, as yq's encoder does).
    fn set_tag(&mut self, node: &Node, new: &Val, place: Place, tag: &str) {
        if implied(tag, new) {
            return;
        }
        match self.property(node, '!') {
            Some((start, end, _)) if super::keeps_tag(node.tag.as_deref(), new) => {
                self.edit(start, end, tag.to_string())
            }
            // The value's replacement drops the old tag from here on: the new one goes
            // in front of it.
            Some((start, _, _)) => self.edit(start, start, format!("{tag} ")),
            None => self.add_property(node, place, tag, "the tag"),
        }
    }

    /// yq's `alias = name`: the node written as `*name`, which must name an anchor before
    /// it in the file (an alias cannot point forward).
    fn write_alias(&mut self, node: &Node, place: Place, name: &str) -> Result<()> {
        let src = self.src;
        let token = format!("&{name}");
        let defined = self.index.anchors.iter().any(|m| {
            m.start < node.start
                && src
                    .get(m.start..m.end)
                    .is_some_and(|t| t.split_whitespace().take(2).any(|w| w == token))
        });
        if !defined {
            return Err(self.refuse(format!(
                "line {}: {} cannot become the alias *{name}: no node before it is anchored as &{name}",
                node.line,
                self.path_str()
            )));
        }
        self.check_anchors(node, 0)?;
        match (Self::is_block(node, place), place.at) {
            (true, At::Value { after, .. }) => self.edit(after, node.end, format!(" *{name}")),
            _ => self.edit(node.start, node.end, format!("*{name}")),
        }
        Ok(())
    }

    /// yq's `head_comment`: the comment lines above the node's line (a mapping entry's,
    /// for a value or a key; an item's; the document's, for the root) replaced by `text`,
    /// with the blank lines among them; `""` removes them.
    fn head_comment(&mut self, node: &Node, place: Place, text: &str) {
        let src = self.src;
        let line = match place.at {
            _ if place.flow => return self.not_written(node, "the head comment"),
            At::Root => line_start(src, node.start),
            At::Value { after, .. } => line_start(src, after),
            At::Item { dash } => line_start(src, dash),
        };
        let lead = &src[line..];
        let indent = lead.len() - lead.trim_start_matches(' ').len();
        if matches!(place.at, At::Root) && line + indent != node.start {
            return self.not_written(node, "the head comment");
        }
        let start = comment_block_start(src, line);
        let text = comment_lines(text, &" ".repeat(indent), self.layout.newline);
        self.comment_edit(start, line, text);
    }

    /// yq's `foot_comment` of the document: the comment lines after its last line replaced
    /// by `text`, with the blank lines among them; `""` removes them. Elsewhere yq writes a
    /// foot comment after the node, which here is the next node's head comment: not written.
    fn foot_comment(&mut self, node: &Node, place: Place, text: &str) {
        if !matches!(place.at, At::Root) || node.keeps_blank {
            if !text.is_empty() {
                self.not_written(node, "the foot comment");
            }
            return;
        }
        let src = self.src;
        let start = after_line(src, node.end);
        let end = foot_block_end(src, start);
        let nl = self.layout.newline;
        let mut text = comment_lines(text, "", nl);
        if start == src.len() && !src.ends_with('\n') && !text.is_empty() {
            text.insert_str(0, nl);
        }
        self.comment_edit(start, end, text);
    }

    /// yq's line comment of a key (`(.a | key) line_comment=`), or of an empty value: after
    /// the `:` on the key's line, where nothing but a comment follows it.
    pub(super) fn after_colon_comment(&mut self, place: Place, text: &str) {
        let At::Value { after, .. } = place.at else {
            return;
        };
        if place.flow {
            return;
        }
        let src = self.src;
        let line_end = src[after..]
            .find(['\r', '\n'])
            .map_or(src.len(), |n| after + n);
        let rest = src[after..line_end].trim();
        if !(rest.is_empty() || rest.starts_with('#')) {
            return;
        }
        let comment = match text {
            "" => String::new(),
            t if t.starts_with('#') => format!(" {t}"),
            t => format!(" # {t}"),
        };
        self.edit(after, line_end, comment);
    }

    /// yq's `(.a.x | key) = "y"` in this mapping: an entry whose key the expression renamed,
    /// and whose value stayed, has its key written anew where it stands rather than being
    /// removed and added at the end. Takes those entries off `removed` and `added`; how many.
    pub(super) fn rename_keys(
        &mut self,
        entries: &[Entry],
        (removed, added): (&mut Vec<usize>, &mut Vec<(Val, Val)>),
        old: &jaq_json::Map,
    ) -> usize {
        let Some(asked) = self.attrs.get(&self.path_str()).cloned() else {
            return 0;
        };
        let mut renamed = 0;
        for attr in asked {
            let Attr::RenameKey { from, to } = attr else {
                continue;
            };
            let Some(r) = removed
                .iter()
                .position(|&i| key_string(&entries[i].key) == Some(from.as_str()))
            else {
                continue;
            };
            let to_key = Val::from(to.clone());
            let Some(a) = added.iter().position(|(k, _)| *k == to_key) else {
                continue;
            };
            let stayed = old
                .get(&Val::from(from.clone()))
                .is_some_and(|v| same(v, &added[a].1));
            let key = &entries[removed[r]].key;
            let Kind::Scalar { style, .. } = &key.kind else {
                continue;
            };
            if !stayed || key.tag.is_some() || key.anchor != 0 {
                continue;
            }
            let flow = self.src[..key.start].trim_end().ends_with(['{', ',']);
            let text = match (style, render::plain(&to, flow)) {
                (ScalarStyle::Plain, Plain::Ok) => to,
                (ScalarStyle::SingleQuoted, _) => {
                    render::single_quoted(&to).unwrap_or_else(|| render::double_quoted(&to))
                }
                _ => render::double_quoted(&to),
            };
            self.edit(key.start, key.end, text);
            removed.remove(r);
            added.remove(a);
            renamed += 1;
        }
        renamed
    }

    /// A comment edit, unless one was made over the same lines (the document's head and
    /// its first entry's are the same lines).
    fn comment_edit(&mut self, start: usize, end: usize, text: String) {
        if self
            .commented
            .iter()
            .any(|r| r.start < end.max(start + 1) && start < r.end.max(r.start + 1))
        {
            return;
        }
        if start == end && text.is_empty() {
            return;
        }
        self.commented.push(start..end);
        self.edit(start, end, text);
    }
}

/// `text` as comment lines, each indented by `indent` and `# ` in front unless it starts
/// with `#`, as yq's encoder writes a comment; `""` for none.
fn comment_lines(text: &str, indent: &str, nl: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    text.lines()
        .map(|l| {
            if l.starts_with('#') {
                format!("{indent}{l}{nl}")
            } else {
                format!("{indent}# {l}{nl}")
            }
        })
        .collect()
}

/// Whether a value reads as `tag` without it being written (yq's encoder leaves it out).
fn implied(tag: &str, new: &Val) -> bool {
    matches!(
        (tag, new),
        ("!!str", Val::TStr(_) | Val::BStr(_))
            | ("!!int" | "!!float", Val::Num(_))
            | ("!!bool", Val::Bool(_))
            | ("!!null", Val::Null)
            | ("!!map", Val::Obj(_))
            | ("!!seq", Val::Arr(_))
    )
}
