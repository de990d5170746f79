//! Every failure the tool reports, with the exit code a pipeline can branch on.

use std::fmt;
use std::path::PathBuf;

/// Exit codes, one table: every `--help` and the README's "Exit codes" section show it, and
/// a test holds the README to it.
pub mod exit {
    /// Done: pushed, already up to date, or a dry run.
    pub const OK: u8 = 0;
    /// Something unexpected: a bug, or an I/O failure outside the inputs' control.
    pub const UNEXPECTED: u8 = 1;
    /// Invalid input: flags, environment, version, path, expression, YAML, or a refused edit.
    pub const INPUT: u8 = 2;
    /// Git transport, authentication or timeout failure; the Gitea API refused or was away.
    pub const TRANSPORT: u8 = 3;
    /// The server rejected the push for good (a hook, a protected branch, a permission).
    pub const REJECTED: u8 = 4;
    /// Gave up after `--max-attempts` pushes that lost the race to other writers.
    pub const GAVE_UP: u8 = 5;
    /// The commit status could not be set and `--require-status` was given, or it was the
    /// record of a dispatched run that ended superseded.
    pub const STATUS: u8 = 6;
    /// `dispatch`: the update did not land (its run failed, or the wait timed out).
    pub const NOT_LANDED: u8 = 7;
    /// `run`: a newer version than the one asked for is already in the file, so nothing
    /// was written (not a failure: an older build finished last). `dispatch`: its run ended
    /// so, or was cancelled after a later build was recorded.
    pub const SUPERSEDED: u8 = 8;
    /// `verify`: an update commit has no provenance note, its note does not match it, or its
    /// signature does not verify with the keys given.
    pub const UNPROVEN: u8 = 9;
    /// `workflow --check`: the committed receiver is not what the config gives.
    pub const STALE: u8 = 1;
    /// `eval -e` (yq's `--exit-status`): no result, or every result null or false.
    pub const NO_MATCH: u8 = 1;

    /// Each code, what it means, and the commands that can end with it.
    pub const TABLE: &[(u8, &str, &[&str])] = &[
        (OK, "done: pushed, already up to date, a dry run, printed or written, the dispatched update landed (or was already there), or every update commit verified", &["eval", "run", "dispatch", "workflow", "verify"]),
        (UNEXPECTED, "unexpected: a bug, or an I/O failure such as a full disk; for workflow --check, the committed workflow is not what the config gives (the diff is on stdout); for eval -e, no result, or every result null or false", &["eval", "run", "dispatch", "workflow", "verify"]),
        (INPUT, "invalid input: flags, environment, version, path, file, expression, YAML, a refused edit, a missing file or branch, uncommitted changes", &["eval", "run", "dispatch", "workflow", "verify"]),
        (TRANSPORT, "git transport, authentication or timeout failure; the Gitea API refused a request or could not be reached; a Gitea older than 1.24 (dispatch)", &["run", "dispatch"]),
        (REJECTED, "the server rejected the push for good (a hook, a protected branch, a permission)", &["run"]),
        (GAVE_UP, "gave up after --max-attempts pushes that lost the race to other writers", &["run"]),
        (STATUS, "the commit status could not be set (with --require-status, or the record of a dispatched run that was superseded)", &["run"]),
        (NOT_LANDED, "dispatch: the update did not land (its run failed, its pull request was closed or another update replaced it, or nothing proved it before --wait-timeout)", &["dispatch"]),
        (SUPERSEDED, "superseded: the file already holds a newer version than the one asked for (an older build finished last); nothing was written, and dispatch names the commit that holds it. Not a failure; run --allow-downgrade rolls back on purpose", &["run", "dispatch"]),
        (UNPROVEN, "verify: an update commit has no provenance note, its note does not match the commit, or its signature does not verify with the keys given", &["verify"]),
    ];

    /// The table for `--help`: every code, or those `command` can end with.
    pub fn help(command: Option<&str>) -> String {
        let mut out = String::from("Exit codes:\n");
        for (code, meaning, commands) in TABLE {
            if command.is_none_or(|c| commands.contains(&c)) {
                out.push_str(&format!("  {code}  {meaning}\n"));
            }
        }
        out
    }
}

/// A position in a text the user gave us, shown with a caret under the spot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// What the text is: a file name, or "expression".
    pub source: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The offending line, without its line break.
    pub text: String,
}

impl Located {
    /// Locates a byte offset in `src`. Offsets past the end point just after the last byte.
    pub fn at(source: impl Into<String>, src: &str, offset: usize) -> Self {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_start = src[..offset].rfind('\n').map_or(0, |n| n + 1);
        let line_end = src[offset..].find('\n').map_or(src.len(), |n| offset + n);
        Located {
            source: source.into(),
            line: src[..line_start].matches('\n').count() + 1,
            column: src[line_start..offset].chars().count() + 1,
            text: src[line_start..line_end].trim_end_matches('\r').to_string(),
        }
    }
}

/// Characters of the offending line shown at most: a 20 MB line is not an error message.
const EXCERPT: usize = 100;

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tabs would shift the caret; show them as single spaces in the excerpt. A long
        // line is shown around the column, with `…` where it is cut.
        let col = self.column.saturating_sub(1);
        let skip = col.saturating_sub(EXCERPT / 2);
        let mut text: String = self
            .text
            .chars()
            .skip(skip)
            .take(EXCERPT)
            .map(|c| {
                if c.is_control() || crate::chars::is_bidi(c) {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let mut caret = col - skip;
        if skip > 0 {
            text.insert(0, '…');
            caret += 1;
        }
        if self.text.chars().nth(skip + EXCERPT).is_some() {
            text.push('…');
        }
        let gutter = self.line.to_string();
        writeln!(f, "  {gutter} | {text}")?;
        write!(f, "  {} | {}^", " ".repeat(gutter.len()), " ".repeat(caret))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or variable that is missing, malformed or contradicts another.
    #[error("{0}")]
    Usage(String),

    /// The repository is not as the inputs say: no such branch or file, a file that is a
    /// link, a directory or too large, uncommitted changes in the checkout.
    #[error("{0}")]
    Repo(String),

    #[error("invalid version {shown}: {why}; a version may use letters, digits and . _ + - (at most 128 characters), then @sha256:<64 hex digits> or @sha512:<128 hex digits>, or be such a digest alone")]
    Version { shown: String, why: String },

    #[error("expression error at line {}, column {}: {msg}\n{at}", at.line, at.column)]
    ExprSyntax { msg: String, at: Located },

    #[error("expression error: {0}")]
    Expr(String),

    #[error("invalid YAML in {} at line {}, column {}: {msg}\n{at}", at.source, at.line, at.column)]
    YamlSyntax { msg: String, at: Located },

    #[error("{file}: {msg}")]
    Yaml { file: String, msg: String },

    #[error("{file}: refused: {msg}")]
    Refused { file: String, msg: String },

    #[error("cannot read {}: {why}", path.display())]
    Input { path: PathBuf, why: String },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{0}")]
    Transport(String),

    #[error("{0}")]
    Auth(String),

    #[error("the server rejected the push to {target}: {message}")]
    Rejected { target: String, message: String },

    #[error("gave up after {attempts} attempts: other writers kept pushing to {target} first; raise --max-attempts or retry later")]
    GaveUp { attempts: u32, target: String },

    #[error("the commit status could not be set: {0}")]
    Status(String),

    #[error("{0}")]
    Api(String),

    #[error("{0}")]
    NotLanded(String),

    #[error("internal error: {0}; please report this with the input that caused it")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Repo(_)
            | Error::Version { .. }
            | Error::ExprSyntax { .. }
            | Error::Expr(_)
            | Error::YamlSyntax { .. }
            | Error::Yaml { .. }
            | Error::Refused { .. }
            | Error::Input { .. } => exit::INPUT,
            Error::Transport(_) | Error::Auth(_) => exit::TRANSPORT,
            Error::Rejected { .. } => exit::REJECTED,
            Error::GaveUp { .. } => exit::GAVE_UP,
            Error::Status(_) => exit::STATUS,
            Error::Api(_) => exit::TRANSPORT,
            Error::NotLanded(_) => exit::NOT_LANDED,
            Error::Write { .. } | Error::Internal(_) => exit::UNEXPECTED,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_column() {
        let at = Located::at("f.yaml", "a: 1\nbb: [\n", 9);
        assert_eq!((at.line, at.column), (2, 5));
        assert_eq!(at.to_string(), "  2 | bb: [\n    |     ^");
    }

    #[test]
    fn a_long_line_is_shown_around_the_column() {
        let line = format!("{}x: [{}", "a".repeat(5000), "b".repeat(5000));
        let at = Located::at("f.yaml", &line, 5003);
        let shown = at.to_string();
        assert!(shown.len() < 400, "{} bytes", shown.len());
        let (text, caret) = shown.split_once('\n').unwrap();
        let text = text.trim_start_matches("  1 | ");
        let caret = caret.trim_start_matches("    | ");
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert_eq!(
            text.chars().nth(caret.len() - 1),
            Some('['),
            "{text}\n{caret}"
        );
    }

    #[test]
    fn offset_inside_multibyte_char_is_clamped() {
        let at = Located::at("x", "é: 1", 1);
        assert_eq!((at.line, at.column), (1, 1));
    }
}
