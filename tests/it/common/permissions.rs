//! A job token's access to its repository on Gitea 1.26+, ported from Gitea's
//! services/actions/permission_parser.go (and token_permission_design.md,
//! models/actions/token_permissions.go): shared by the workflow checks and the emulator.

use std::collections::BTreeMap;

use jaq_json::Val;

/// What a job token may do to one unit of the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    Read,
    Write,
}

/// The units a job token's permissions cover (models/actions/token_permissions.go).
pub const UNITS: [&str; 8] = [
    "code",
    "releases",
    "issues",
    "pull_requests",
    "actions",
    "wiki",
    "projects",
    "packages",
];

fn text(v: &Val) -> String {
    match v {
        Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => other.to_string(),
    }
}

/// Every unit at one level.
pub fn all(a: Access) -> BTreeMap<&'static str, Access> {
    UNITS.iter().map(|u| (*u, a)).collect()
}

/// A job token's access on Gitea 1.26+: no `permissions:` is the default mode, permissive
/// here (write everywhere, Gitea's default); `read-all` / `write-all`; any other scalar, and
/// `{}`, is none; a mapping sets every unit it does not name to none; `contents` is code and
/// releases, and a finer `code` or `releases` wins over it; `statuses`, `checks`,
/// `deployments`, `id-token` and GitHub's other scopes are ignored.
pub fn token_access(permissions: Option<&Val>) -> BTreeMap<&'static str, Access> {
    let level = |v: &Val| match text(v).as_str() {
        "write" => Access::Write,
        "read" => Access::Read,
        _ => Access::None,
    };
    let Some(p) = permissions else {
        return all(Access::Write);
    };
    let Val::Obj(map) = p else {
        return match text(p).as_str() {
            "write-all" => all(Access::Write),
            "read-all" => all(Access::Read),
            _ => all(Access::None),
        };
    };
    let mut access: BTreeMap<&'static str, Access> = all(Access::None);
    if let Some(c) = map.get(&Val::from("contents".to_string())) {
        access.insert("code", level(c));
        access.insert("releases", level(c));
    }
    for (key, value) in map.iter() {
        let unit = text(key).replace('-', "_");
        if let Some(u) = UNITS.iter().find(|u| **u == unit) {
            access.insert(u, level(value));
        }
    }
    access
}
