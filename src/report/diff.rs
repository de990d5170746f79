//! The unified diff that `--diff` and dry runs print, coloured on a terminal only.

use std::io::{self, IsTerminal};

use similar::{ChangeTag, TextDiff};

/// Whether to colour stdout: only on a terminal, and never when NO_COLOR is set.
pub(crate) fn color_stdout() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A unified diff of `old` and `new`, labelled `a/<name>` and `b/<name>` as git does.
/// Empty when the texts are equal.
pub(crate) fn unified_diff(name: &str, old: &str, new: &str, color: bool) -> String {
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    if old == new {
        return out;
    }
    // git's a/ and b/ prefixes only make sense for relative paths.
    if name.starts_with('/') || name.starts_with('<') {
        out.push_str(&format!("--- {name}\n+++ {name}\n"));
    } else {
        out.push_str(&format!("--- a/{name}\n+++ b/{name}\n"));
    }
    for group in diff.grouped_ops(3) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (ol, nl) = (last.old_range().end - o, last.new_range().end - n);
        let hunk = format!(
            "@@ -{},{ol} +{},{nl} @@\n",
            o + usize::from(ol > 0),
            n + usize::from(nl > 0)
        );
        out.push_str(&paint(&hunk, "36", color));
        for op in &group {
            for change in diff.iter_changes(op) {
                let (sign, code) = match change.tag() {
                    ChangeTag::Delete => ('-', "31"),
                    ChangeTag::Insert => ('+', "32"),
                    ChangeTag::Equal => (' ', ""),
                };
                let mut line = format!("{sign}{}", change.value());
                if change.missing_newline() {
                    line.push_str("\n\\ No newline at end of file\n");
                }
                out.push_str(&paint(&line, code, color));
            }
        }
    }
    out
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if !color || code.is_empty() {
        return s.to_string();
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    let nl = if body.len() < s.len() { "\n" } else { "" };
    format!("\x1b[{code}m{body}\x1b[0m{nl}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_only_changed_lines() {
        let d = unified_diff("v.yaml", "a: 1\nb: 2\n", "a: 1\nb: 3\n", false);
        assert_eq!(
            d,
            "--- a/v.yaml\n+++ b/v.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
        );
    }

    #[test]
    fn diff_says_when_final_newline_is_missing() {
        let d = unified_diff("v", "a: 1", "a: 2", false);
        assert!(
            d.contains(
                "-a: 1\n\\ No newline at end of file\n+a: 2\n\\ No newline at end of file\n"
            ),
            "{d}"
        );
    }

    #[test]
    fn no_diff_for_equal_text() {
        assert_eq!(unified_diff("v", "a\n", "a\n", false), "");
    }
}
