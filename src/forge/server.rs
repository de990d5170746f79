//! Which server this is, and what that means for the commands: one table of capabilities by
//! release, read once from `GET /version` (routers/api/v1/misc/version.go), so that a new
//! Gitea release or a Forgejo difference is a row here, not a branch in the commands.

/// What the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Gitea {
        major: u32,
        minor: u32,
    },
    /// Forgejo's version reads `11.0.1+gitea-1.22.0`.
    Forgejo {
        major: u32,
    },
}

/// What a server does that changes how an update is dispatched and proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The workflow dispatch API exists (routers/api/v1/api.go, from Gitea 1.24).
    pub dispatch: bool,
    /// A run's title is its evaluated `run-name:` (services/actions/workflow.go, from
    /// 1.25), so a task can be told to be ours by the dispatch id in it.
    pub titles_runs: bool,
    /// Every dispatch cancels the running and waiting runs of the same workflow and ref
    /// (1.24 and 1.25: services/actions/workflow.go → `CancelPreviousJobs`).
    pub cancels_on_dispatch: bool,
    /// How a dispatch can be asked for the id of the run it started.
    pub run_id: RunId,
}

/// How a dispatch is asked for its run's id, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunId {
    /// 204 with no body: the run is found by its title or not at all (Gitea 1.24, 1.25).
    Unasked,
    /// `?return_run_details=true`: 200 with `workflow_run_id` (Gitea 1.26+,
    /// routers/api/v1/repo/action.go `ActionsDispatchWorkflow`).
    Query,
    /// The body field `return_run_info`: 201 with the run (Forgejo's
    /// routers/api/v1/repo/action.go).
    Body,
}

const NONE: Capabilities = Capabilities {
    dispatch: false,
    titles_runs: false,
    cancels_on_dispatch: false,
    run_id: RunId::Unasked,
};

/// Gitea's releases where a capability changed, oldest first: a server has the row of the
/// newest release at or below its own.
const GITEA: &[((u32, u32), Capabilities)] = &[
    ((0, 0), NONE),
    (
        (1, 24),
        Capabilities {
            dispatch: true,
            cancels_on_dispatch: true,
            ..NONE
        },
    ),
    (
        (1, 25),
        Capabilities {
            dispatch: true,
            titles_runs: true,
            cancels_on_dispatch: true,
            run_id: RunId::Unasked,
        },
    ),
    (
        (1, 26),
        Capabilities {
            dispatch: true,
            titles_runs: true,
            cancels_on_dispatch: false,
            run_id: RunId::Query,
        },
    ),
];

/// Forgejo's releases, as `GITEA` (Forgejo's routers/api/v1/repo/action.go and
/// services/actions/workflows.go, v11.0 to v13.0 branches): dispatch on every release this
/// supports; a run's title is the workflow's `name:`, never the dispatch's, and a dispatch
/// cancels nothing. The run a dispatch started can be read (`/actions/runs/{id}`) only from
/// v12, so v11 is not asked for it.
const FORGEJO: &[(u32, Capabilities)] = &[
    (
        0,
        Capabilities {
            dispatch: true,
            ..NONE
        },
    ),
    (
        12,
        Capabilities {
            dispatch: true,
            run_id: RunId::Body,
            ..NONE
        },
    ),
];

impl Server {
    /// Parses a version string; `None` when it is neither Gitea's nor Forgejo's shape.
    pub fn parse(version: &str) -> Option<Server> {
        let numbers = |s: &str| -> Option<(u32, u32)> {
            let core = s.trim_start_matches('v');
            let core = core.split(['+', '-', ' ']).next()?;
            let mut it = core.split('.');
            let major = it.next()?.parse().ok()?;
            let minor = it.next().unwrap_or("0").parse().ok()?;
            Some((major, minor))
        };
        if version.contains("+gitea-") || version.to_ascii_lowercase().contains("forgejo") {
            return Some(Server::Forgejo {
                major: numbers(version)?.0,
            });
        }
        let (major, minor) = numbers(version)?;
        Some(Server::Gitea { major, minor })
    }

    pub fn capabilities(self) -> Capabilities {
        match self {
            Server::Gitea { major, minor } => GITEA
                .iter()
                .rev()
                .find(|(since, _)| *since <= (major, minor))
                .map_or(NONE, |(_, c)| *c),
            Server::Forgejo { major } => FORGEJO
                .iter()
                .rev()
                .find(|(since, _)| *since <= major)
                .map_or(NONE, |(_, c)| *c),
        }
    }

    pub fn can_dispatch(self) -> bool {
        self.capabilities().dispatch
    }

    pub fn titles_runs(self) -> bool {
        self.capabilities().titles_runs
    }

    pub fn cancels_on_dispatch(self) -> bool {
        self.capabilities().cancels_on_dispatch
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Server::Gitea { major, minor } => write!(f, "Gitea {major}.{minor}"),
            Server::Forgejo { major } => write!(f, "Forgejo {major}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions() {
        assert_eq!(
            Server::parse("1.24.7"),
            Some(Server::Gitea {
                major: 1,
                minor: 24
            })
        );
        assert_eq!(
            Server::parse("1.26.0+dev-412-g0123abc"),
            Some(Server::Gitea {
                major: 1,
                minor: 26
            })
        );
        assert_eq!(
            Server::parse("11.0.1+gitea-1.22.0"),
            Some(Server::Forgejo { major: 11 })
        );
        assert_eq!(Server::parse("development"), None);
        let v = |s| Server::parse(s).unwrap();
        assert!(!v("1.23.8").can_dispatch() && v("1.24.0").can_dispatch());
        assert!(v("1.24.7").cancels_on_dispatch() && v("1.25.4").cancels_on_dispatch());
        assert!(
            !v("1.26.0").cancels_on_dispatch() && !v("11.0.1+gitea-1.22.0").cancels_on_dispatch()
        );
        assert!(!v("1.24.7").titles_runs() && v("1.25.0").titles_runs());
        assert!(v("2.0.0").can_dispatch() && v("2.0.0").titles_runs());
        assert!(v("11.0.1+gitea-1.22.0").can_dispatch());
        assert!(!v("11.0.1+gitea-1.22.0").titles_runs());
        let run_id = |s| v(s).capabilities().run_id;
        assert_eq!(run_id("1.25.4"), RunId::Unasked);
        assert_eq!(run_id("1.26.0"), RunId::Query);
        assert_eq!(run_id("1.27.0"), RunId::Query);
        assert_eq!(run_id("11.0.1+gitea-1.22.0"), RunId::Unasked);
        assert_eq!(run_id("12.0.1+gitea-1.22.0"), RunId::Body);
        assert_eq!(run_id("13.0.0+gitea-1.22.0"), RunId::Body);
    }
}
