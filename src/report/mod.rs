//! The only module that writes to stdout. Notes and progress go to stderr. `diff` renders
//! the unified diff; `ci` the step outputs, the step summary and the run's line.

mod ci;
mod diff;
mod dispatch;
mod verify;

pub(crate) use ci::{append_outputs, Failure, RunReport};
pub(crate) use diff::{color_stdout, unified_diff};
pub(crate) use dispatch::{DispatchReport, Proven};
pub(crate) use verify::VerifyReport;

use std::io::{self, Write};

/// Writes the result text. A closed pipe (`| head`) is not an error worth a message.
pub(crate) fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes the result text; a failure is the run's error, named as a write to stdout.
pub(crate) fn print(text: &str) -> crate::Result<()> {
    stdout(text).map_err(|source| crate::Error::Write {
        path: "<stdout>".into(),
        source,
    })
}

pub(crate) fn note(text: &str) {
    eprintln!("note: {}", terminal(text));
}

/// Something the run does despite, which the user should fix.
pub(crate) fn warn(text: &str) {
    eprintln!("warning: {}", terminal(text));
}

/// A human progress line, on stderr so that stdout stays the result.
pub(crate) fn progress(text: &str) {
    eprintln!("gitops-update: {}", terminal(text));
}

/// The error line `main` prints: what fails reaches the terminal through here too.
pub fn error(e: &crate::Error) {
    eprintln!("error: {}", terminal(&e.to_string()));
}

/// A message for stderr: ours may span lines (a caret under an expression), but nothing in
/// it may drive the terminal, whatever a server, a file or an input put there.
fn terminal(text: &str) -> String {
    if !text
        .chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || crate::chars::is_bidi(c))
    {
        return text.to_string();
    }
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

/// Text from outside (a server's answer, a file's bytes) made safe for a terminal, a log or
/// Markdown: control characters and bidirectional overrides, which can recolour a log,
/// move the cursor, retitle a window or reorder what a reader sees, are shown as `\u{..}`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || crate::chars::is_bidi(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_escaped_for_terminals() {
        assert_eq!(
            escape("ok \u{1b}[31mred\u{7}\n\u{202e}x"),
            "ok \\u{1b}[31mred\\u{7}\\u{a}\\u{202e}x"
        );
        assert_eq!(escape("plain ünï ✓"), "plain ünï ✓");
    }
}
