//! Reading yq's node attributes that live in the text beside a node: its comments
//! (`pkg/yqlib/operator_comments.go`, `getCommentsOperator`), anchor and alias
//! (`operator_anchors_aliases.go`). yq strips the `# ` of each comment line it reads.

use jaq_json::Val;

use super::index::{Index, Kind, Node};
use super::style::node_at;
use super::text::{after_line, line_start};

/// Where the run of comment and blank lines just above the line at `line` starts. A line
/// indented past that line's is not taken: it may be a block scalar's text that reads like
/// a comment, or a comment that goes with the deeper node above.
pub(super) fn comment_block_start(src: &str, line: usize) -> usize {
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let own = indent(&src[line..]);
    let mut start = line;
    while start > 0 {
        let prev = line_start(src, start - 1);
        let text = &src[prev..start];
        let l = text.trim();
        if !(l.is_empty() || (l.starts_with('#') && indent(text) <= own)) {
            break;
        }
        start = prev;
    }
    start
}

/// Where the run of comment and blank lines after the document's root ends, from `start`.
pub(super) fn foot_block_end(src: &str, start: usize) -> usize {
    let mut end = start;
    while end < src.len() {
        let next = after_line(src, end);
        let l = src[end..next].trim();
        if !(l.is_empty() || l.starts_with('#')) {
            break;
        }
        end = next;
    }
    end
}

/// yq's reading of attribute `name` (`head_comment`, `line_comment`, `foot_comment`,
/// `anchor`, `alias`) of the node at `path` of document `doc`; `""` where it has none.
pub(crate) fn read(src: &str, index: &Index, doc: usize, path: &[Val], name: &str) -> String {
    let Some((node, lead)) = node_at(index, doc, path) else {
        return String::new();
    };
    match name {
        "head_comment" => comment_text(
            &src[comment_block_start(src, line_start(src, lead))..line_start(src, lead)],
        ),
        "foot_comment" if path.is_empty() && !node.keeps_blank => {
            let start = after_line(src, node.end);
            comment_text(&src[start..foot_block_end(src, start)])
        }
        "line_comment" => line_comment(src, node, lead),
        "anchor" => super::style::anchor_of(src, node).unwrap_or("").to_string(),
        // Only a tag written in the file: `=c` copies it (operator_assign.go).
        "tag" => super::style::tag_of(src, node).unwrap_or("").to_string(),
        "alias" => match node.kind {
            Kind::Alias(_) => src
                .get(node.start..node.end)
                .unwrap_or("")
                .trim_start_matches('*')
                .to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The comment after the node on its line; for a block collection, the one on its key's
/// line (`a: # note`), where yq reads it.
fn line_comment(src: &str, node: &Node, lead: usize) -> String {
    let block = matches!(
        node.kind,
        Kind::Map { flow: false, .. } | Kind::Seq { flow: false, .. }
    );
    let from = if block { lead } else { node.end };
    let line_end = src[from..]
        .find(['\r', '\n'])
        .map_or(src.len(), |n| from + n);
    let rest = &src[from..line_end];
    let at = if block {
        rest.find(" #").map(|i| i + 1)
    } else {
        rest.find('#').filter(|&i| rest[..i].trim().is_empty())
    };
    at.map_or_else(String::new, |at| comment_text(&rest[at..]))
}

/// Comment lines as yq reads them: blank lines dropped, the `# ` of each taken off.
fn comment_text(lines: &str) -> String {
    let kept: Vec<&str> = lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect();
    kept.join("\n")
}
