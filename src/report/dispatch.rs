//! What the consumer's step gets from `dispatch`: step outputs and the summary line on
//! stdout, as `RunReport` gives them for `run`. The summary line's format lives here, once,
//! for both (`summary_line`).

use std::io;

use crate::model::short;

/// A value for one field of `component|version|status|commit_sha|repo`: a `|` or a line
/// break in it would make more fields, or another line, for the report that splits it.
fn field(v: &str) -> String {
    v.replace('|', "%7C")
        .replace('\n', "%0A")
        .replace('\r', "%0D")
}

/// `component|version|status|commit_sha|repo`, the line the pipeline report collects. The
/// status and the sha are ours (a word, hex digits) and go as they are.
pub(crate) fn summary_line(
    component: &str,
    version: &str,
    status: &str,
    sha: &str,
    repo: &str,
) -> String {
    format!(
        "{}|{}|{status}|{sha}|{}",
        field(component),
        field(version),
        field(repo)
    )
}

/// What `dispatch` reports: step outputs, the summary line on stdout, and its last
/// progress line.
pub(crate) struct DispatchReport<'a> {
    pub component: &'a str,
    pub version: &'a str,
    /// The GitOps repository.
    pub repo: &'a str,
    pub dispatch_id: &'a str,
    /// What was proven; `None` when the dispatch failed.
    pub proven: Option<Proven<'a>>,
}

/// The update as `dispatch` proved it.
pub(crate) struct Proven<'a> {
    pub sha: &'a str,
    /// Whether this dispatch made the commit (false: the version was already there).
    pub changed: bool,
    /// The pull request it waits in, not yet merged.
    pub pull_url: Option<&'a str>,
    /// Superseded: the newer version the branch holds at `sha`; nothing was written.
    pub superseded_by: Option<&'a str>,
}

impl DispatchReport<'_> {
    fn status(&self) -> &'static str {
        match &self.proven {
            Some(Proven {
                superseded_by: Some(_),
                ..
            }) => "superseded",
            Some(Proven {
                pull_url: Some(_), ..
            }) => "pending",
            Some(_) => "success",
            None => "failure",
        }
    }

    /// The code `dispatch` ends with once something was proven: 8 when superseded (as
    /// `run`'s, and no failure either), else 0.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.status() {
            "superseded" => crate::error::exit::SUPERSEDED,
            _ => crate::error::exit::OK,
        }
    }

    fn sha(&self) -> &str {
        self.proven.as_ref().map_or("", |p| p.sha)
    }

    /// `component|version|status|commit_sha|repo`.
    pub(crate) fn summary(&self) -> String {
        summary_line(
            self.component,
            self.version,
            self.status(),
            self.sha(),
            self.repo,
        )
    }

    fn outputs(&self) -> [(&'static str, String); 5] {
        let proven = self.proven.as_ref();
        [
            ("summary", self.summary()),
            ("commit_sha", self.sha().to_string()),
            ("changed", proven.is_some_and(|p| p.changed).to_string()),
            ("dispatch_id", self.dispatch_id.to_string()),
            (
                "pr_url",
                proven.and_then(|p| p.pull_url).unwrap_or("").to_string(),
            ),
        ]
    }

    /// Appends the outputs to each step output file ($GITHUB_OUTPUT, $GITEA_OUTPUT).
    pub(crate) fn write_outputs(
        &self,
        files: &[std::path::PathBuf],
    ) -> Result<(), (std::path::PathBuf, io::Error)> {
        super::append_outputs(files, &self.outputs())
    }

    /// The result on stdout: the summary line, once something was proven.
    pub(crate) fn text(&self) -> String {
        match self.proven {
            Some(_) => format!("{}\n", self.summary()),
            None => String::new(),
        }
    }

    /// The last progress line: where the version is, in words.
    pub(crate) fn done(&self) -> Option<String> {
        let p = self.proven.as_ref()?;
        let (component, version, repo) = (self.component, self.version, self.repo);
        if let Some(newer) = p.superseded_by {
            return Some(format!(
                "{component} {version} was superseded: {repo} already holds {newer} at {}; nothing was written",
                short(p.sha)
            ));
        }
        Some(match p.pull_url {
            Some(url) => format!(
                "{component} {version} waits in a pull request of {repo}: {url} (head {})",
                short(p.sha)
            ),
            None => format!(
                "{component} {version} {} {repo} as {}",
                if p.changed {
                    "landed in"
                } else {
                    "was already in"
                },
                short(p.sha)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(proven: Option<Proven<'static>>) -> DispatchReport<'static> {
        DispatchReport {
            component: "app",
            version: "1.2.3",
            repo: "acme/deploy",
            dispatch_id: "d-1",
            proven,
        }
    }

    #[test]
    fn the_summary_line_and_outputs_say_how_it_ended() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let landed = report(Some(Proven {
            sha,
            changed: true,
            pull_url: None,
            superseded_by: None,
        }));
        assert_eq!(
            landed.summary(),
            format!("app|1.2.3|success|{sha}|acme/deploy")
        );
        assert_eq!(landed.text(), format!("{}\n", landed.summary()));
        assert_eq!(
            landed.done().unwrap(),
            "app 1.2.3 landed in acme/deploy as 0123456"
        );
        assert_eq!(landed.exit_code(), 0);
        let pending = report(Some(Proven {
            sha,
            changed: true,
            pull_url: Some("http://x/pulls/1"),
            superseded_by: None,
        }));
        assert_eq!(pending.status(), "pending");
        let superseded = report(Some(Proven {
            sha,
            changed: false,
            pull_url: None,
            superseded_by: Some("1.2.4"),
        }));
        assert_eq!(
            superseded.summary(),
            format!("app|1.2.3|superseded|{sha}|acme/deploy")
        );
        assert_eq!(superseded.exit_code(), 8);
        assert_eq!(superseded.outputs()[2].1, "false");
        assert_eq!(
            superseded.done().unwrap(),
            "app 1.2.3 was superseded: acme/deploy already holds 1.2.4 at 0123456; nothing was written"
        );
        assert_eq!(pending.outputs()[4].1, "http://x/pulls/1");
        let failed = report(None);
        assert_eq!(failed.summary(), "app|1.2.3|failure||acme/deploy");
        assert_eq!(failed.text(), "");
        assert_eq!(failed.outputs()[2].1, "false");
        // The fields config lets through never hold these, so the bytes are the plain ones.
        assert_eq!(
            summary_line("a|b", "1\n", "x", "", "r\r"),
            "a%7Cb|1%0A|x||r%0D"
        );
    }
}
