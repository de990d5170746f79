//! The contract between `run` and `dispatch`, in one place: the commit message that records
//! an update and its trailers, the commit statuses on both sides, the run title that names a
//! dispatch, and the branch a pull request of ours comes from. `run` writes these and
//! `dispatch` finds its update by them, possibly across releases of the tool: changing a
//! word here changes the wire format, which the round-trip test below holds.

use crate::model::{id_char, short};

/// The first line of every update's commit, which consumers search for (the seed's format).
pub const TITLE_PREFIX: &str = "[skip ci] gitops: update version to ";

const SOURCE_REPO: &str = "Source-Repo";
const SOURCE_COMMIT: &str = "Source-Commit";
const DISPATCH_ID: &str = "Dispatch-Id";
const COMPONENT: &str = "Component";
const FILE: &str = "File";

/// What an update commit records. `run` makes it from its inputs; a commit message parses
/// back into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub version: String,
    pub component: String,
    pub files: Vec<String>,
    pub source_repo: Option<String>,
    pub source_commit: Option<String>,
    pub dispatch_id: Option<String>,
}

impl Record {
    pub fn title(&self) -> String {
        format!("{TITLE_PREFIX}{}", self.version)
    }

    /// The trailers, one per line: they let consumers find the commit of their own
    /// dispatch without guessing, and with `File:` tell `dispatch` that a later build of
    /// the same component has been recorded, so that a cancelled older one is not
    /// dispatched again over it.
    pub fn trailers(&self) -> String {
        let mut t = String::new();
        for (key, value) in [
            (SOURCE_REPO, &self.source_repo),
            (SOURCE_COMMIT, &self.source_commit),
            (DISPATCH_ID, &self.dispatch_id),
        ] {
            if let Some(v) = value {
                t.push_str(&format!("{key}: {v}\n"));
            }
        }
        t.push_str(&format!("{COMPONENT}: {}\n", self.component));
        for f in &self.files {
            t.push_str(&format!("{FILE}: {f}\n"));
        }
        t
    }

    /// The commit message: the title, a blank line, the trailers.
    pub fn message(&self) -> String {
        format!("{}\n\n{}", self.title(), self.trailers())
    }

    /// A commit message read back. The version is the title's last word, whoever wrote the
    /// title; a message without our trailers gives an empty component and no files.
    pub fn parse(message: &str) -> Record {
        let title = message.lines().next().unwrap_or_default();
        let first = |key| trailer(message, key).first().map(|v| v.to_string());
        Record {
            version: title.rsplit(' ').next().unwrap_or_default().to_string(),
            component: first(COMPONENT).unwrap_or_default(),
            files: trailer(message, FILE)
                .into_iter()
                .map(str::to_string)
                .collect(),
            source_repo: first(SOURCE_REPO),
            source_commit: first(SOURCE_COMMIT),
            dispatch_id: first(DISPATCH_ID),
        }
    }

    /// The description of the status `run` sets on the GitOps commit. It ends in
    /// `(dispatch ID)`: the record `dispatch` looks for when the version was already there
    /// and no commit carries its trailer (`Asked::recorded_by`).
    pub fn status_description(&self) -> String {
        self.described("")
    }

    /// The context of the status `run` sets on the GitOps commit: `gitops/<source repo, or
    /// the component>[/<prefix>]`.
    pub fn status_context(&self, tag_prefix: Option<&str>) -> String {
        self.context(STATUS_ROOT, tag_prefix)
    }

    /// The description of the status a superseded run sets on the tip it found: which newer
    /// version is recorded there, then `(dispatch ID)`, so that `dispatch` ends at once
    /// instead of waiting for a commit that will never come (`Asked::superseded_record`).
    pub fn superseded_description(&self, recorded: &str) -> String {
        self.described(&format!("{SUPERSEDED_BY}{recorded}"))
    }

    /// The context of that status: `gitops-superseded/<source repo, or the
    /// component>[/<prefix>]`. Never the run's own `gitops/` context, whose newest status on
    /// the tip belongs to the newer build's run and must stay its.
    pub fn superseded_context(&self, tag_prefix: Option<&str>) -> String {
        self.context(SUPERSEDED_ROOT, tag_prefix)
    }

    /// `<component> <version> from <repo>@<short sha><middle> (dispatch <id>)`.
    fn described(&self, middle: &str) -> String {
        let (component, version) = (&self.component, &self.version);
        let mut d = match (&self.source_repo, &self.source_commit) {
            (Some(r), Some(c)) => format!("{component} {version} from {r}@{}", short(c)),
            (Some(r), None) => format!("{component} {version} from {r}"),
            _ => format!("{component} {version}"),
        };
        d.push_str(middle);
        if let Some(id) = &self.dispatch_id {
            d.push_str(&format!(" (dispatch {id})"));
        }
        d
    }

    fn context(&self, root: &str, tag_prefix: Option<&str>) -> String {
        let name = self.source_repo.as_deref().unwrap_or(&self.component);
        match tag_prefix
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
        {
            Some(p) => format!("{root}/{name}/{p}"),
            None => format!("{root}/{name}"),
        }
    }
}

/// The root of the contexts of `run`'s record on the GitOps commit.
const STATUS_ROOT: &str = "gitops";
/// The root of a superseded run's record. It is outside `gitops/` so that no source repo,
/// prefix or older `dispatch` (which takes a success under `gitops/` naming its dispatch
/// for "already there") can read it as the run's own record.
const SUPERSEDED_ROOT: &str = "gitops-superseded";
/// Between the dispatch's build and the newer version, in a superseded record.
const SUPERSEDED_BY: &str = " superseded by ";

/// The values of a trailer in a commit's message, in order.
fn trailer<'m>(message: &'m str, key: &str) -> Vec<&'m str> {
    message
        .lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
        .collect()
}

/// The context of the status on the consumer's commit, as the consumer repos' branch
/// protection already requires it: `gitops/<consumer repo name>[/<prefix without its
/// slashes>]` (`acme/agent-platform` with `docker/` is `gitops/agent-platform/docker`).
pub fn consumer_status_context(source_repo: &str, tag_prefix: Option<&str>) -> String {
    let name = source_repo.rsplit('/').next().unwrap_or(source_repo);
    match tag_prefix
        .map(|p| p.replace('/', ""))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("gitops/{name}/{p}"),
        None => format!("gitops/{name}"),
    }
}

/// The branch a pull request of ours comes from: one per target branch and component, so
/// that a newer build replaces an older one's pull request.
pub fn pull_request_branch(base: &str, component: &str) -> String {
    format!("gitops-update/{base}/{component}")
}

/// The AGit topic: it names the component as our own branch does; Gitea prefixes the
/// pusher's name to make the head branch (services/agit/agit.go).
pub fn agit_topic(component: &str) -> String {
    format!("gitops-update/{component}")
}

/// What one dispatch asked for, as `dispatch` looks for it in the GitOps repo.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub dispatch_id: &'a str,
    pub version: &'a str,
    pub source_commit: &'a str,
    pub component: &'a str,
    pub file: &'a str,
}

impl Asked<'_> {
    /// Whether the commit with this message is the one this dispatch made: by its
    /// `Dispatch-Id:`, or, for a commit without one (an older updater), by its title.
    pub fn is_ours(&self, message: &str) -> bool {
        let ids = trailer(message, DISPATCH_ID);
        if !ids.is_empty() {
            return ids.contains(&self.dispatch_id);
        }
        let first = message.lines().next().unwrap_or("");
        first.ends_with(&format!("gitops: update version to {}", self.version))
    }

    /// Whether the commit with this message records another build's update of the same
    /// component in the same file: a later build, when it landed after this dispatch. Two
    /// dispatches of one build (the same source commit, say one for the tag and one for the
    /// chart) never supersede each other.
    pub fn superseded_by(&self, message: &str) -> bool {
        let (id, source) = (
            trailer(message, DISPATCH_ID),
            trailer(message, SOURCE_COMMIT),
        );
        !id.is_empty()
            && !id.contains(&self.dispatch_id)
            && !source.is_empty()
            && !source.contains(&self.source_commit)
            && trailer(message, COMPONENT).contains(&self.component)
            && trailer(message, FILE).contains(&self.file)
    }

    /// Whether a commit status is `run`'s record of this dispatch: a success status of a
    /// `gitops/` context whose description ends in `(dispatch ID)`.
    pub fn recorded_by(&self, state: &str, context: &str, description: &str) -> bool {
        state == "success"
            && context.starts_with("gitops/")
            && description.ends_with(&format!("(dispatch {})", self.dispatch_id))
    }

    /// The newer version a superseded run's record of this dispatch names: a success status
    /// of a `gitops-superseded/` context whose description ends in `superseded by VERSION
    /// (dispatch ID)`. `None` for any other status, or a version `run` could not have written.
    pub fn superseded_record<'d>(
        &self,
        state: &str,
        context: &str,
        description: &'d str,
    ) -> Option<&'d str> {
        let ours = state == "success" && context.starts_with(&format!("{SUPERSEDED_ROOT}/"));
        let rest = description.strip_suffix(&format!(" (dispatch {})", self.dispatch_id))?;
        let (_, recorded) = rest.rsplit_once(SUPERSEDED_BY)?;
        (ours && crate::model::Version::parse(recorded).is_ok()).then_some(recorded)
    }

    /// Whether a run's title names this dispatch: the receiver's `run-name:` holds the
    /// dispatch id, which must stand as a whole word.
    pub fn names_run(&self, title: &str) -> bool {
        let id = self.dispatch_id;
        title.match_indices(id).any(|(i, _)| {
            let before = title[..i].chars().next_back();
            let after = title[i + id.len()..].chars().next();
            !before.is_some_and(id_char) && !after.is_some_and(id_char)
        })
    }
}

/// The dispatch id named by a message's trailer, for messages that say which update won.
pub fn dispatch_id_of(message: &str) -> Option<&str> {
    trailer(message, DISPATCH_ID).first().copied()
}

/// Whether a pull request's title is one of ours.
pub fn is_update_title(title: &str) -> bool {
    title.starts_with(TITLE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            version: "1.2.3".into(),
            component: "app".into(),
            files: vec!["apps/app/values.yaml".into(), "apps/app/Chart.yaml".into()],
            source_repo: Some("acme/app".into()),
            source_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            dispatch_id: Some("d-1".into()),
        }
    }

    #[test]
    fn the_message_is_the_seeds_format() {
        assert_eq!(
            record().message(),
            "[skip ci] gitops: update version to 1.2.3\n\n\
             Source-Repo: acme/app\n\
             Source-Commit: 0123456789abcdef0123456789abcdef01234567\n\
             Dispatch-Id: d-1\n\
             Component: app\n\
             File: apps/app/values.yaml\n\
             File: apps/app/Chart.yaml\n"
        );
    }

    #[test]
    fn a_record_round_trips_through_its_message() {
        let full = record();
        let bare = Record {
            source_repo: None,
            source_commit: None,
            dispatch_id: None,
            files: vec!["a b/ü.yaml".into()],
            ..record()
        };
        for r in [full, bare] {
            assert_eq!(Record::parse(&r.message()), r);
            assert_eq!(Record::parse(&r.message()).message(), r.message());
        }
    }

    #[test]
    fn what_run_writes_dispatch_finds() {
        let r = record();
        let asked = Asked {
            dispatch_id: "d-1",
            version: "1.2.3",
            source_commit: "0123456789abcdef0123456789abcdef01234567",
            component: "app",
            file: "apps/app/values.yaml",
        };
        assert!(asked.is_ours(&r.message()));
        assert!(!asked.superseded_by(&r.message()));
        assert!(asked.recorded_by("success", &r.status_context(None), &r.status_description()));
        assert!(!asked.recorded_by("failure", &r.status_context(None), &r.status_description()));
        let other = Asked {
            dispatch_id: "d-10",
            ..asked
        };
        assert!(!other.is_ours(&r.message()));
        assert!(!other.recorded_by("success", "gitops/app", &r.status_description()));
        // A later build of the same component and file supersedes; the same build does not.
        let later = Asked {
            dispatch_id: "d-0",
            source_commit: "fedcba",
            ..asked
        };
        assert!(later.superseded_by(&r.message()));
        let same_build = Asked {
            dispatch_id: "d-0",
            ..asked
        };
        assert!(!same_build.superseded_by(&r.message()));
        let other_file = Asked {
            file: "other.yaml",
            ..later
        };
        assert!(!other_file.superseded_by(&r.message()));
        assert_eq!(dispatch_id_of(&r.message()), Some("d-1"));
        assert!(is_update_title(&r.title()));
    }

    #[test]
    fn a_superseded_run_records_the_newer_version_beside_the_newer_runs_status() {
        let r = record();
        let asked = Asked {
            dispatch_id: "d-1",
            version: "1.2.3",
            source_commit: "0123456789abcdef0123456789abcdef01234567",
            component: "app",
            file: "apps/app/values.yaml",
        };
        let (context, description) = (
            r.superseded_context(Some("docker/")),
            r.superseded_description("1.2.4"),
        );
        assert_eq!(context, "gitops-superseded/acme/app/docker");
        assert_eq!(
            description,
            "app 1.2.3 from acme/app@0123456 superseded by 1.2.4 (dispatch d-1)"
        );
        // Not the newer run's context, whatever the prefix: that status stays the newer run's.
        for prefix in [None, Some("superseded"), Some("x/y")] {
            assert!(!r.superseded_context(prefix).starts_with("gitops/"));
        }
        assert_eq!(
            asked.superseded_record("success", &context, &description),
            Some("1.2.4")
        );
        // Neither record is read as the other.
        assert!(!asked.recorded_by("success", &context, &description));
        let up_to_date = (r.status_context(None), r.status_description());
        assert_eq!(
            asked.superseded_record("success", &up_to_date.0, &up_to_date.1),
            None
        );
        // Another dispatch's record, another state, or a version run never writes: not ours.
        let other = Asked {
            dispatch_id: "d-10",
            ..asked
        };
        assert_eq!(
            other.superseded_record("success", &context, &description),
            None
        );
        assert_eq!(
            asked.superseded_record("failure", &context, &description),
            None
        );
        let odd = r.superseded_description("1.2.4; rm -rf");
        assert_eq!(asked.superseded_record("success", &context, &odd), None);
    }

    #[test]
    fn a_commit_without_trailers_is_ours_by_its_title() {
        let asked = Asked {
            dispatch_id: "d-1",
            version: "1.2.3",
            source_commit: "",
            component: "app",
            file: "v.yaml",
        };
        assert!(asked.is_ours("[skip ci] gitops: update version to 1.2.3"));
        assert!(!asked.is_ours("[skip ci] gitops: update version to 1.2.30"));
    }

    #[test]
    fn statuses_on_both_sides() {
        let r = record();
        assert_eq!(r.status_context(None), "gitops/acme/app");
        assert_eq!(r.status_context(Some("/docker/")), "gitops/acme/app/docker");
        assert_eq!(
            r.status_description(),
            "app 1.2.3 from acme/app@0123456 (dispatch d-1)"
        );
        for (prefix, want) in [
            (None, "gitops/agent-platform"),
            (Some(""), "gitops/agent-platform"),
            (Some("docker/"), "gitops/agent-platform/docker"),
            (Some("helm/"), "gitops/agent-platform/helm"),
        ] {
            assert_eq!(consumer_status_context("acme/agent-platform", prefix), want);
        }
    }

    #[test]
    fn a_run_title_names_the_dispatch_as_a_whole_word() {
        let asked = Asked {
            dispatch_id: "d-1",
            version: "1",
            source_commit: "",
            component: "app",
            file: "v.yaml",
        };
        assert!(asked.names_run("gitops: app 1.2.3 (d-1)"));
        assert!(!asked.names_run("gitops: app 1.2.3 (d-10)"));
        assert!(!asked.names_run("gitops: app 1.2.3 (xd-1)"));
    }
}
