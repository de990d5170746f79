//! What a CI step gets: step outputs (`$GITHUB_OUTPUT`, `$GITEA_OUTPUT`), the step summary,
//! and the run's one line or JSON on stdout, all from the typed outcome.

use std::io::{self, Write};

use crate::json::json_str;
use crate::model::{short, Outcome, Pulled};

/// Appends the outputs to each step output file ($GITHUB_OUTPUT, $GITEA_OUTPUT). A value
/// with a line break in it would start a new output of the reader's choosing (act parses
/// `name=value` lines), so such a value is written in the `name<<DELIMITER` form with a
/// delimiter drawn at random and absent from the value. An error names the file that could
/// not be written.
pub(crate) fn append_outputs<V: AsRef<str>>(
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
        let delimiter = format!("ghadelimiter_{}", crate::model::random_hex());
        if !value.contains(&delimiter) {
            return format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
        }
    }
}

/// What the run reports: step outputs, the step summary, and stdout.
pub(crate) struct RunReport<'a> {
    /// How the run ended; `None` when it failed.
    pub outcome: Option<&'a Outcome>,
    pub version: &'a str,
    pub component: &'a str,
    pub repo: &'a str,
    pub branch: &'a str,
    pub files: Vec<String>,
    pub attempts: u32,
    /// The pull request the run opened or updated (`--pull-request`).
    pub pull: Option<&'a Pulled>,
    /// Why the run failed, when it did.
    pub failure: Option<Failure>,
}

/// A failed run's error, as the pipeline reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub message: String,
    pub exit_code: u8,
}

/// Text for one cell of a Markdown table, on one line, as text: what a file or a server
/// put in it (`</details><script>`, backticks, control characters) is shown, not rendered.
fn cell(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in super::escape(&v.replace(['\n', '\r'], " ")).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

impl RunReport<'_> {
    /// The outcome's name in JSON and the step summary.
    fn name(&self) -> &'static str {
        match self.outcome {
            Some(Outcome::Pushed { .. }) => "pushed",
            Some(Outcome::UpToDate { .. }) => "up_to_date",
            Some(Outcome::DryRun { .. }) => "dry_run",
            Some(Outcome::Superseded { .. }) => "superseded",
            None => "failed",
        }
    }

    fn status(&self) -> &'static str {
        match (self.outcome, self.pull) {
            (None, _) => "failure",
            // Not a failure: a newer build's version is already there.
            (Some(Outcome::Superseded { .. }), _) => "superseded",
            (Some(_), Some(p)) if !p.merged => "pending",
            (Some(_), _) => "success",
        }
    }

    /// How the commit landed: push, pull-request or merged; empty when nothing landed.
    fn landing(&self) -> &'static str {
        match (self.outcome, self.pull) {
            (Some(Outcome::Pushed { .. }), Some(p)) if p.merged => "merged",
            (Some(Outcome::Pushed { .. }), Some(_)) => "pull-request",
            (Some(Outcome::Pushed { .. }), None) => "push",
            _ => "",
        }
    }

    /// The commit that carries the version, and the one before it.
    fn commits(&self) -> (String, String) {
        match self.outcome {
            Some(Outcome::Pushed { commit, previous }) => {
                (commit.to_string(), previous.to_string())
            }
            Some(
                Outcome::UpToDate { tip }
                | Outcome::DryRun { tip }
                | Outcome::Superseded { tip, .. },
            ) => (tip.to_string(), tip.to_string()),
            None => (String::new(), String::new()),
        }
    }

    /// The code the run ends with: a failure's, 8 when superseded, else 0.
    fn exit_code(&self) -> u8 {
        match (self.failure.as_ref(), self.outcome) {
            (Some(f), _) => f.exit_code,
            (None, Some(Outcome::Superseded { .. })) => crate::error::exit::SUPERSEDED,
            (None, _) => crate::error::exit::OK,
        }
    }

    fn changed(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Pushed { .. }))
    }

    /// `component|version|status|commit_sha|repo`, the line the pipeline report collects.
    pub(crate) fn summary(&self) -> String {
        super::dispatch::summary_line(
            self.component,
            self.version,
            self.status(),
            &self.commits().0,
            self.repo,
        )
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        let (commit, previous) = self.commits();
        vec![
            ("changed", self.changed().to_string()),
            ("commit_sha", commit),
            ("previous_sha", previous),
            ("version", self.version.to_string()),
            ("summary", self.summary()),
            // How it ended, as JSON's `outcome` says it: a receiver's deploy job is skipped
            // when it says superseded, since the newer build's own run deploys.
            ("outcome", self.name().to_string()),
            ("landing", self.landing().to_string()),
            (
                "pr_number",
                self.pull
                    .and_then(|p| p.number)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
            (
                "pr_url",
                self.pull.map(|p| p.url.clone()).unwrap_or_default(),
            ),
        ]
    }

    /// Appends the outputs to each step output file ($GITHUB_OUTPUT, $GITEA_OUTPUT).
    pub(crate) fn write_outputs(
        &self,
        files: &[std::path::PathBuf],
    ) -> Result<(), (std::path::PathBuf, io::Error)> {
        append_outputs(files, &self.outputs())
    }

    pub(crate) fn write_step_summary(&self, file: &std::path::Path) -> io::Result<()> {
        let error = self.failure.as_ref().map_or(String::new(), |f| {
            format!(
                "| error | {} |\n| exit code | {} |\n",
                cell(&f.message),
                f.exit_code
            )
        });
        let mut text = format!(
            "### gitops-update: {} {}\n\n| | |\n| --- | --- |\n| outcome | {} |\n| repository | {} ({}) |\n| commit | `{}` |\n| files | {} |\n| attempts | {} |\n{error}\n",
            cell(self.component),
            cell(self.version),
            self.name(),
            cell(self.repo),
            cell(self.branch),
            self.commits().0,
            self.files.iter().map(|f| cell(f)).collect::<Vec<_>>().join(", "),
            self.attempts
        );
        text = text.replace("| `` |", "| - |").replace("|  |", "| - |");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)?;
        file.write_all(text.as_bytes())
    }

    pub(crate) fn json(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|f| json_str(f)).collect();
        let (commit, previous) = self.commits();
        format!(
            "{{\"status\":{},\"error\":{},\"exit_code\":{},\"outcome\":{},\"changed\":{},\"commit_sha\":{},\"previous_sha\":{},\"version\":{},\"component\":{},\"repo\":{},\"branch\":{},\"files\":[{}],\"attempts\":{},\"summary\":{},\"landing\":{},\"pr_number\":{},\"pr_url\":{}}}\n",
            json_str(self.status()),
            self.failure
                .as_ref()
                .map_or("null".to_string(), |f| json_str(&f.message)),
            self.exit_code(),
            json_str(self.name()),
            self.changed(),
            json_str(&commit),
            json_str(&previous),
            json_str(self.version),
            json_str(self.component),
            json_str(self.repo),
            json_str(self.branch),
            files.join(","),
            self.attempts,
            json_str(&self.summary()),
            json_str(self.landing()),
            self.pull
                .and_then(|p| p.number)
                .map_or("null".to_string(), |n| n.to_string()),
            self.pull
                .filter(|p| !p.url.is_empty())
                .map_or("null".to_string(), |p| json_str(&p.url))
        )
    }

    pub(crate) fn text(&self) -> String {
        let commit = self.commits().0;
        match self.outcome {
            Some(Outcome::Pushed { .. }) if self.pull.is_some() => {
                let p = self.pull.unwrap_or_else(|| unreachable!());
                let number = p
                    .number
                    .map_or("for review".to_string(), |n| format!("#{n}"));
                let url = if p.url.is_empty() {
                    "no address"
                } else {
                    &p.url
                };
                format!(
                    "pull request {number} into {} of {}{}: {url} ({})\n",
                    self.branch,
                    self.repo,
                    if p.merged { ", merged" } else { "" },
                    short(&commit)
                )
            }
            Some(Outcome::Pushed { .. }) => format!(
                "pushed {} to {} of {}: {}\n",
                short(&commit),
                self.branch,
                self.repo,
                self.files.join(", ")
            ),
            Some(Outcome::UpToDate { .. }) => format!(
                "already up to date: {} of {} at {}\n",
                self.branch,
                self.repo,
                short(&commit)
            ),
            Some(Outcome::Superseded { newer, .. }) => format!(
                "superseded: {}{} ({} of {} at {})\n",
                newer.why(self.version),
                match newer.rolled_back_to {
                    Some(_) => ": nothing was written, --allow-downgrade writes it",
                    None => "; nothing was written",
                },
                self.branch,
                self.repo,
                short(&commit)
            ),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
