//! The GitOps repo's own policy, `.gitops-update.yaml` at its root: which files an update
//! may change and, per file, which paths:
//!
//! ```yaml
//! files:
//!   dev/Chart.yaml: [.version, .appVersion]
//!   "*/values.yaml": [.image.tag]
//! ```
//!
//! What an expression changes is found by comparing the file's values before and after,
//! not by reading the expression, so no spelling of an assignment can get around a rule.
//! The policy file itself can never be a target.

use jaq_json::Val;

use crate::error::{Error, Result};
use crate::model::RepoPath;
use crate::path::Step;
use crate::yaml;

pub const FILE: &str = ".gitops-update.yaml";

#[derive(Debug)]
struct Rule {
    glob: String,
    paths: Vec<(String, Vec<Step>)>,
}

#[derive(Debug)]
pub struct Policy {
    /// None: the config has no `files:`, only the receiver's settings.
    rules: Option<Vec<Rule>>,
    /// `allow_downgrade: true`: an update may move a value to an older version.
    pub allow_downgrade: bool,
}

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::Refused {
        file: FILE.to_string(),
        msg: format!(
            "{msg}; the policy must be `files:` mapping globs to lists of paths such as .image.tag"
        ),
    }
}

/// `.a.b`, `.a["x.y"]`, `.list[0]`.
fn parse_path(p: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = p.strip_prefix('.')?;
    if rest.is_empty() {
        return Some(steps);
    }
    loop {
        if let Some(r) = rest.strip_prefix("[\"") {
            let end = r.find("\"]")?;
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            steps.push(Step::Key(key.to_string()));
            rest = &rest[end..];
        }
        if rest.is_empty() {
            return Some(steps);
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
}

/// A glob over `/`-separated paths: `*` and `?` stay within a segment, `**` spans segments.
pub fn glob_match(glob: &str, path: &str) -> bool {
    fn segs(g: &[&str], p: &[&str]) -> bool {
        match (g.first(), p.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segs(&g[1..], p) || (!p.is_empty() && segs(g, &p[1..])),
            (Some(gs), Some(ps)) => seg(gs.as_bytes(), ps.as_bytes()) && segs(&g[1..], &p[1..]),
            _ => false,
        }
    }
    fn seg(g: &[u8], s: &[u8]) -> bool {
        match (g.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg(&g[1..], s) || (!s.is_empty() && seg(g, &s[1..])),
            (Some(b'?'), Some(_)) => seg(&g[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => seg(&g[1..], &s[1..]),
            _ => false,
        }
    }
    let g: Vec<&str> = glob.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    segs(&g, &p)
}

fn text(v: &Val) -> String {
    match v {
        Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => other.to_string(),
    }
}

impl Policy {
    pub fn parse(bytes: &[u8]) -> Result<Policy> {
        let src = yaml::decode(bytes, FILE)?;
        let parsed = yaml::parse(src, FILE)?;
        let Some(Val::Obj(root)) = parsed.values.first() else {
            return Err(invalid("it is not a mapping"));
        };
        let has = |k: &str| root.contains_key(&Val::from(k.to_string()));
        let allow_downgrade = match root.get(&Val::from("allow_downgrade".to_string())) {
            None | Some(Val::Null | Val::Bool(false)) => false,
            Some(Val::Bool(true)) => true,
            Some(_) => {
                return Err(Error::Refused {
                    file: FILE.to_string(),
                    msg: "`allow_downgrade` must be true or false".into(),
                })
            }
        };
        let files = match root.get(&Val::from("files".to_string())) {
            Some(Val::Obj(files)) => files,
            // A config that only declares the receiver (src/workflow.rs), or only allows
            // downgrades, restricts no file.
            None if has("components") || has("workflow") || has("allow_downgrade") => {
                return Ok(Policy {
                    rules: None,
                    allow_downgrade,
                });
            }
            _ => return Err(invalid("it has no `files:` mapping")),
        };
        let mut rules = Vec::new();
        for (glob, paths) in files.iter() {
            let glob = text(glob);
            let Val::Arr(paths) = paths else {
                return Err(invalid(format!("`{glob}` must map to a list of paths")));
            };
            let mut parsed_paths = Vec::new();
            for p in paths.iter() {
                let raw = text(p);
                let steps = parse_path(&raw)
                    .ok_or_else(|| invalid(format!("`{raw}` under `{glob}` is not a path")))?;
                parsed_paths.push((raw, steps));
            }
            rules.push(Rule {
                glob,
                paths: parsed_paths,
            });
        }
        Ok(Policy {
            rules: Some(rules),
            allow_downgrade,
        })
    }

    /// The rule for a file: the first glob that matches it.
    fn rule(&self, file: &RepoPath) -> Option<&Rule> {
        self.rules
            .as_ref()?
            .iter()
            .find(|r| glob_match(&r.glob, file.as_str()))
    }

    /// Refuses a file the policy does not list, before anything is read or edited.
    pub fn check_file(&self, file: &RepoPath) -> Result<()> {
        if self.rules.is_some() && self.rule(file).is_none() {
            return Err(Error::Refused {
                file: file.to_string(),
                msg: format!("{FILE} does not list this file, so no update may change it"),
            });
        }
        Ok(())
    }

    /// Refuses an edit that changes a path the file's rule does not allow.
    pub fn check_edit(&self, file: &RepoPath, before: &str, after: &str) -> Result<()> {
        if self.rules.is_none() {
            return Ok(());
        }
        let Some(rule) = self.rule(file) else {
            return self.check_file(file);
        };
        let old = yaml::parse(before, file.as_str())?.values;
        let new = yaml::parse(after, file.as_str())?.values;
        let changed = old
            .iter()
            .zip(&new)
            .flat_map(|(o, n)| yaml::schema::differences(o, n))
            .map(|d| d.path);
        for path in changed {
            let allowed = rule.paths.iter().any(|(_, p)| path.starts_with(p));
            if !allowed {
                let allowed: Vec<&str> = rule.paths.iter().map(|(raw, _)| raw.as_str()).collect();
                return Err(Error::Refused {
                    file: file.to_string(),
                    msg: format!(
                        "{FILE} allows `{}` to change only {}, and this update changes {}",
                        rule.glob,
                        if allowed.is_empty() {
                            "nothing".to_string()
                        } else {
                            allowed.join(", ")
                        },
                        crate::path::show(&path)
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> RepoPath {
        RepoPath::parse(s).unwrap()
    }

    const POLICY: &str = "files:\n  dev/Chart.yaml: [.version, .appVersion]\n  \"*/values.yaml\": [.image.tag, '.env[\"LOG-LEVEL\"]']\n";

    #[test]
    fn globs() {
        assert!(glob_match("*/values.yaml", "dev/values.yaml"));
        assert!(!glob_match("*/values.yaml", "a/b/values.yaml"));
        assert!(glob_match("**/values.yaml", "a/b/values.yaml"));
        assert!(glob_match("**/values.yaml", "values.yaml"));
        assert!(glob_match("dev/Chart.y?ml", "dev/Chart.yaml"));
        assert!(!glob_match("dev/Chart.yaml", "prod/Chart.yaml"));
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path(".image.tag"),
            Some(vec![Step::Key("image".into()), Step::Key("tag".into())])
        );
        assert_eq!(
            parse_path(".l[2].x"),
            Some(vec![
                Step::Key("l".into()),
                Step::Index(2),
                Step::Key("x".into())
            ])
        );
        assert_eq!(
            parse_path(".a[\"b.c\"]"),
            Some(vec![Step::Key("a".into()), Step::Key("b.c".into())])
        );
        for bad in ["image", ".a b", ".a[x]", ".[\"x"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn allowed_and_refused_changes() {
        let p = Policy::parse(POLICY.as_bytes()).unwrap();
        let f = path("dev/values.yaml");
        let before = "image:\n  tag: \"1\"\nreplicas: 2\n";
        assert!(p
            .check_edit(&f, before, "image:\n  tag: \"2\"\nreplicas: 2\n")
            .is_ok());
        let err = p
            .check_edit(&f, before, "image:\n  tag: \"1\"\nreplicas: 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allows `*/values.yaml` to change only .image.tag"),
            "{err}"
        );
        assert!(err.ends_with("changes .replicas"), "{err}");
        let err = p
            .check_edit(
                &f,
                before,
                "image:\n  tag: \"1\"\n  extra: x\nreplicas: 2\n",
            )
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("changes .image.extra"), "{err}");
        assert!(p
            .check_edit(&f, "env: {}\n", "env: {LOG-LEVEL: debug}\n")
            .is_ok());
        assert!(p.check_file(&path("prod/Chart.yaml")).is_err());
        assert!(p.check_file(&path("dev/Chart.yaml")).is_ok());
    }

    #[test]
    fn a_config_of_only_the_receiver_restricts_no_file() {
        let p = Policy::parse(b"components:\n  web: {}\n").unwrap();
        let f = path("any/values.yaml");
        assert!(p.check_file(&f).is_ok());
        assert!(p.check_edit(&f, "a: 1\n", "a: 2\n").is_ok());
    }

    #[test]
    fn malformed_policies_say_what_is_wrong() {
        for (bad, want) in [
            ("[]", "not a mapping"),
            ("other: 1", "no `files:`"),
            ("components: {}\nfiles: []", "no `files:`"),
            ("files: {a.yaml: .x}", "must map to a list"),
            ("files: {a.yaml: [x]}", "is not a path"),
        ] {
            let err = Policy::parse(bad.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }
}
