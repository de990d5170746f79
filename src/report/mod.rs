//! The only module that writes to stdout. Notes and progress go to stderr.

use std::io::{self, IsTerminal, Write};

use similar::{ChangeTag, TextDiff};

/// Whether to colour stdout: only on a terminal, and never when NO_COLOR is set.
pub fn color_stdout() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A unified diff of `old` and `new`, labelled `a/<name>` and `b/<name>` as git does.
/// Empty when the texts are equal.
pub fn unified_diff(name: &str, old: &str, new: &str, color: bool) -> String {
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

/// Writes the result text. A closed pipe (`| head`) is not an error worth a message.
pub fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

pub fn note(text: &str) {
    eprintln!("note: {text}");
}

/// A human progress line, on stderr so that stdout stays the result.
pub fn progress(text: &str) {
    eprintln!("gitops-update: {text}");
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends the outputs to each step output file ($GITHUB_OUTPUT, $GITEA_OUTPUT). A value
/// with a line break in it would start a new output of the reader's choosing (act parses
/// `name=value` lines), so such a value is written in the `name<<DELIMITER` form with a
/// delimiter drawn at random and absent from the value. An error names the file that could
/// not be written.
pub fn append_outputs<V: AsRef<str>>(
    files: &[std::path::PathBuf],
    outputs: &[(&str, V)],
) -> Result<(), (std::path::PathBuf, io::Error)> {
    let text: String = outputs
        .iter()
        .map(|(k, v)| output_line(k, v.as_ref()))
        .collect();
    for f in files {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(f)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|e| (f.clone(), e))?;
    }
    Ok(())
}

fn output_line(name: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    loop {
        let delimiter = format!("ghadelimiter_{}", random_hex());
        if !value.contains(&delimiter) {
            return format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
        }
    }
}

/// 128 bits from the standard library's per-process random keys and the clock.
pub fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_u64(salt);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// What the run reports: step outputs, the step summary, and stdout.
pub struct RunReport<'a> {
    pub status: &'a str,
    pub changed: bool,
    pub commit: String,
    pub previous: String,
    pub version: &'a str,
    pub component: &'a str,
    pub repo: &'a str,
    pub branch: &'a str,
    pub files: Vec<String>,
    pub attempts: u32,
    pub outcome: &'a str,
}

impl RunReport<'_> {
    /// `component|version|status|commit_sha|repo`, the line the pipeline report collects.
    pub fn summary(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.component, self.version, self.status, self.commit, self.repo
        )
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("changed", self.changed.to_string()),
            ("commit_sha", self.commit.clone()),
            ("previous_sha", self.previous.clone()),
            ("version", self.version.to_string()),
            ("summary", self.summary()),
        ]
    }

    /// Appends `name=value` lines to each step output file ($GITHUB_OUTPUT, $GITEA_OUTPUT).
    pub fn write_outputs(
        &self,
        files: &[std::path::PathBuf],
    ) -> Result<(), (std::path::PathBuf, io::Error)> {
        append_outputs(files, &self.outputs())
    }

    pub fn write_step_summary(&self, file: &std::path::Path) -> io::Result<()> {
        let mut text = format!(
            "### gitops-update: {} {}\n\n| | |\n| --- | --- |\n| outcome | {} |\n| repository | {} ({}) |\n| commit | `{}` |\n| files | {} |\n| attempts | {} |\n\n",
            self.component,
            self.version,
            self.outcome,
            self.repo,
            self.branch,
            self.commit,
            self.files.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "),
            self.attempts
        );
        text = text.replace("|  |", "| - |");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)?;
        file.write_all(text.as_bytes())
    }

    pub fn json(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|f| json_str(f)).collect();
        format!(
            "{{\"outcome\":{},\"changed\":{},\"commit_sha\":{},\"previous_sha\":{},\"version\":{},\"component\":{},\"repo\":{},\"branch\":{},\"files\":[{}],\"attempts\":{},\"summary\":{}}}\n",
            json_str(self.outcome),
            self.changed,
            json_str(&self.commit),
            json_str(&self.previous),
            json_str(self.version),
            json_str(self.component),
            json_str(self.repo),
            json_str(self.branch),
            files.join(","),
            self.attempts,
            json_str(&self.summary())
        )
    }

    pub fn text(&self) -> String {
        let short = |s: &str| s.get(..7).unwrap_or(s).to_string();
        match self.outcome {
            "pushed" => format!(
                "pushed {} to {} of {}: {}\n",
                short(&self.commit),
                self.branch,
                self.repo,
                self.files.join(", ")
            ),
            "up_to_date" => format!(
                "already up to date: {} of {} at {}\n",
                self.branch,
                self.repo,
                short(&self.commit)
            ),
            _ => String::new(),
        }
    }
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
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn outputs_with_line_breaks_use_a_random_delimiter() {
        assert_eq!(output_line("a", "b"), "a=b\n");
        let line = output_line("summary", "x\nchanged=true");
        let (head, rest) = line.split_once('\n').unwrap();
        let delimiter = head.strip_prefix("summary<<").unwrap();
        assert!(delimiter.len() > 20, "{delimiter}");
        assert_eq!(rest, format!("x\nchanged=true\n{delimiter}\n"));
        assert_ne!(
            output_line("s", "\r"),
            output_line("s", "\r"),
            "drawn anew each time"
        );
    }

    #[test]
    fn no_diff_for_equal_text() {
        assert_eq!(unified_diff("v", "a\n", "a\n", false), "");
    }
}
