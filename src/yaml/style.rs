//! Styles that an expression asks for (yq's `.a style="double"`): the evaluator records
//! them beside the values, which carry no style, and the splice re-renders exactly those
//! nodes in the style asked for, even where their value did not change.

use jaq_json::Val;

use crate::path::Step;

/// A node style, as yq names it (`pkg/yqlib/operator_style.go`, `parseStyle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `""`: plain where the value reads back the same that way; a collection in block
    /// style.
    Plain,
    Double,
    Single,
    /// `|`
    Literal,
    /// `>`
    Folded,
    /// A collection in flow style (`{a: 1}`, `[1, 2]`).
    Flow,
}

/// What to say of a style name that is not one of these.
pub const UNKNOWN: &str =
    "a style; the styles are double, single, literal, folded, flow and \"\" (plain)";

impl Style {
    /// The style yq calls `name`; `None` for any other name, and for yq's `tagged`, which
    /// writes every tag out (gitops-update writes only the tags a file has).
    pub fn from_name(name: &str) -> Option<Style> {
        Some(match name {
            "" => Style::Plain,
            "double" => Style::Double,
            "single" => Style::Single,
            "literal" => Style::Literal,
            "folded" => Style::Folded,
            "flow" => Style::Flow,
            _ => return None,
        })
    }

    /// Whether a scalar in this style is quoted or a block scalar: it reads as a string.
    pub fn reads_as_string(self) -> bool {
        matches!(
            self,
            Style::Double | Style::Single | Style::Literal | Style::Folded
        )
    }
}

/// What an expression set on a node besides its value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Style(Style),
    /// yq's `line_comment`: the comment after the node on its line, `""` for none.
    LineComment(String),
    /// yq's `head_comment`: the comment lines above the node (above its entry for a
    /// mapping's value), `""` for none (`operator_comments.go`).
    HeadComment(String),
    /// yq's `foot_comment`: the comment lines after the document, `""` for none.
    FootComment(String),
    /// yq's `anchor`: the node's anchor name, `""` for none (`operator_anchors_aliases.go`).
    Anchor(String),
    /// yq's `alias`: the node written as an alias of the node anchored so.
    Alias(String),
    /// yq's `tag` (`operator_tag.go`): the node's tag, written where its value does not
    /// imply it.
    Tag(String),
    /// The attribute of the key of the entry at the path, not of its value (`(.a | key)`).
    Key(Box<Attr>),
    /// yq's `(.a.x | key) = "y"` (`operator_keys.go`): the mapping at the path has its key
    /// `from` written as `to` where it stands.
    RenameKey {
        from: String,
        to: String,
    },
}

impl Attr {
    fn same_kind(&self, other: &Attr) -> bool {
        match (self, other) {
            // A key's comments are two attributes, as a value's are.
            (Attr::Key(a), Attr::Key(b)) => a.same_kind(b),
            // Renames of two keys of one mapping are two requests.
            (Attr::RenameKey { from: a, .. }, Attr::RenameKey { from: b, .. }) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// One node's requested attribute: the node at `path` (jq's path: keys and indices) of a
/// document.
#[derive(Debug, Clone, PartialEq)]
pub struct Restyle {
    pub path: Vec<Val>,
    pub attr: Attr,
}

impl Restyle {
    /// Whether `other` sets the same attribute of the same node (the later one wins).
    pub fn replaces(&self, other: &Restyle) -> bool {
        self.path == other.path && self.attr.same_kind(&other.attr)
    }
}

/// Requested styles resolved against a document: each path as steps from its root.
pub(crate) type Resolved = Vec<(Vec<Step>, Attr)>;

/// The requests whose node the new value has, each path as steps from the root (a negative
/// index counted from the end, as jq does): the splice walks to each.
pub(crate) fn resolve(restyles: &[Restyle], new: &Val) -> Resolved {
    restyles
        .iter()
        .filter_map(|r| match r.path.split_last() {
            // A null step after the path: the rewritten `(X | key)`.
            Some((Val::Null, path)) => {
                Some((steps(path, new)?, Attr::Key(Box::new(r.attr.clone()))))
            }
            _ => Some((steps(&r.path, new)?, r.attr.clone())),
        })
        .collect()
}

fn steps(path: &[Val], mut at: &Val) -> Option<Vec<Step>> {
    let mut out = Vec::with_capacity(path.len());
    for step in path {
        at = match (at, step) {
            (Val::Obj(o), Val::TStr(k) | Val::BStr(k)) => {
                out.push(Step::Key(String::from_utf8_lossy(k).into_owned()));
                o.get(step)?
            }
            (Val::Arr(a), Val::Num(n)) => {
                let i = n.as_isize()?;
                let i = if i < 0 {
                    i.checked_add_unsigned(a.len())?
                } else {
                    i
                };
                let i = usize::try_from(i).ok().filter(|i| *i < a.len())?;
                out.push(Step::Index(i));
                &a[i]
            }
            _ => return None,
        };
    }
    Some(out)
}

/// The node at `path` of document `doc`, with where its line starts for a head comment:
/// its entry's key, its item's `-`, or the node itself for the root.
pub(crate) fn node_at<'i>(
    index: &'i super::index::Index,
    doc: usize,
    path: &[Val],
) -> Option<(&'i super::index::Node, usize)> {
    use super::index::{key_string, Kind};
    let mut node = index.docs.get(doc).and_then(|d| d.root.as_ref())?;
    let mut lead = node.start;
    for step in path {
        (node, lead) = match (&node.kind, step) {
            (Kind::Map { entries, .. }, Val::TStr(k) | Val::BStr(k)) => entries
                .iter()
                .rev()
                .find(|e| key_string(&e.key).is_some_and(|s| s.as_bytes() == k.as_ref()))
                .map(|e| (&e.value, e.key.start)),
            (Kind::Seq { items, .. }, Val::Num(n)) => n.as_isize().and_then(|i| {
                let i = if i < 0 {
                    i.checked_add_unsigned(items.len())?
                } else {
                    i
                };
                items
                    .get(usize::try_from(i).ok()?)
                    .map(|it| (&it.node, it.dash))
            }),
            _ => None,
        }?;
    }
    Some((node, lead))
}

/// The style yq names for the node at `path` of document `doc` (yq's `style` operator):
/// `""` for plain scalars, block collections and what the file does not hold.
pub(crate) fn name_at(index: &super::index::Index, doc: usize, path: &[Val]) -> &'static str {
    use super::index::Kind;
    use saphyr_parser::ScalarStyle;
    let Some((node, _)) = node_at(index, doc, path) else {
        return "";
    };
    match &node.kind {
        Kind::Scalar { style, .. } => match style {
            ScalarStyle::SingleQuoted => "single",
            ScalarStyle::DoubleQuoted => "double",
            ScalarStyle::Literal => "literal",
            ScalarStyle::Folded => "folded",
            _ => "",
        },
        Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. } => "flow",
        _ => "",
    }
}

/// The path of the last node of document `doc` anchored as `name`, where an alias of that
/// name written after it points.
pub(crate) fn anchored_path(
    src: &str,
    index: &super::index::Index,
    doc: usize,
    name: &str,
) -> Option<Vec<Val>> {
    let root = index.docs.get(doc).and_then(|d| d.root.as_ref())?;
    let mut found = None;
    find_anchor(src, root, name, &mut Vec::new(), &mut found);
    found
}

/// The name of the node's anchor (`&name` among its properties).
pub(crate) fn anchor_of<'s>(src: &'s str, node: &super::index::Node) -> Option<&'s str> {
    if node.anchor == 0 {
        return None;
    }
    src.get(node.start..node.body.max(node.start))?
        .split_whitespace()
        .find_map(|t| t.strip_prefix('&'))
}

/// The tag written on `node` (`!goat`, `!!str`), without what follows it.
pub(crate) fn tag_of<'s>(src: &'s str, node: &super::index::Node) -> Option<&'s str> {
    src.get(node.start..node.body.max(node.start))?
        .split_whitespace()
        .find(|t| t.starts_with('!'))
}

fn find_anchor(
    src: &str,
    node: &super::index::Node,
    name: &str,
    at: &mut Vec<Val>,
    found: &mut Option<Vec<Val>>,
) {
    use super::index::{key_string, Kind};
    if anchor_of(src, node) == Some(name) {
        *found = Some(at.clone());
    }
    match &node.kind {
        Kind::Map { entries, .. } => {
            for e in entries {
                let Some(k) = key_string(&e.key) else {
                    continue;
                };
                at.push(Val::from(k.to_string()));
                find_anchor(src, &e.value, name, at, found);
                at.pop();
            }
        }
        Kind::Seq { items, .. } => {
            for (i, it) in items.iter().enumerate() {
                at.push(Val::from(i as isize));
                find_anchor(src, &it.node, name, at, found);
                at.pop();
            }
        }
        _ => {}
    }
}

impl Style {
    /// The name yq gives this style.
    pub fn name(self) -> &'static str {
        match self {
            Style::Plain => "",
            Style::Double => "double",
            Style::Single => "single",
            Style::Literal => "literal",
            Style::Folded => "folded",
            Style::Flow => "flow",
        }
    }
}
