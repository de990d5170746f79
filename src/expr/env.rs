//! What a program may see besides its input: the `--arg` values, the placeholders, and
//! the environment variables the policy lets through.

use std::collections::BTreeMap;

use jaq_json::Val;

use super::template::Rewritten;
use crate::error::{Error, Located, Result};

/// Environment variables a template reads: each name (a string) and its value.
pub(super) type EnvValues = Vec<(Val, Val)>;

/// Which environment variables an expression may read.
#[derive(Debug, Clone)]
pub enum EnvPolicy {
    /// Everything but names that look like credentials (the `eval` command).
    DenySecrets,
    /// Only these names (the update run).
    Allow(Vec<String>),
}

impl EnvPolicy {
    pub fn allows(&self, name: &str) -> bool {
        match self {
            EnvPolicy::DenySecrets => {
                let upper = name.to_ascii_uppercase();
                !["TOKEN", "SECRET", "PASSWORD", "KEY"]
                    .iter()
                    .any(|w| upper.contains(w))
            }
            EnvPolicy::Allow(names) => names.iter().any(|n| n == name),
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            EnvPolicy::DenySecrets => {
                "names containing TOKEN, SECRET, PASSWORD or KEY are hidden from expressions".into()
            }
            EnvPolicy::Allow(names) => format!(
                "expressions may read only {} (add more with --allow-env NAME)",
                names.join(", ")
            ),
        }
    }
}

/// What the program may see besides its input.
#[derive(Debug, Clone)]
pub struct Bindings {
    /// `$NAME` variables, from `--arg NAME VALUE`; `VERSION` feeds the placeholders.
    pub args: Vec<(String, String)>,
    /// A snapshot of the process environment; the policy filters it.
    pub env: BTreeMap<String, String>,
    pub policy: EnvPolicy,
    pub placeholders: Placeholders,
}

/// Which names a `{{NAME}}` placeholder may use, and how a missing one is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Placeholders {
    /// `eval`: `VERSION` and each `--arg NAME`.
    #[default]
    Args,
    /// `run`: the inputs a dispatch passes.
    Run,
}

/// `run`'s placeholders, with how each is given.
const RUN_PLACEHOLDERS: [(&str, &str); 6] = [
    ("VERSION", "set VERSION or pass --version"),
    (
        "DIGEST",
        "set DIGEST or pass --digest, or give a version with @sha256:<digest>",
    ),
    ("SOURCE_REPO", "set SOURCE_REPO or pass --source-repo"),
    ("SOURCE_COMMIT", "set SOURCE_COMMIT or pass --source-commit"),
    ("DISPATCH_ID", "set DISPATCH_ID or pass --dispatch-id"),
    ("GIT_TAG_PREFIX", "set GIT_TAG_PREFIX or pass --tag-prefix"),
];

impl Bindings {
    /// The names a placeholder may use here.
    pub(crate) fn placeholder_names(&self) -> Vec<String> {
        match self.placeholders {
            Placeholders::Run => RUN_PLACEHOLDERS
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            Placeholders::Args => std::iter::once("VERSION".to_string())
                .chain(self.args.iter().map(|(n, _)| n.clone()))
                .fold(Vec::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                }),
        }
    }

    /// Checks the template's placeholders: each names a known input that has a value.
    pub(super) fn check_placeholders(&self, template: &str, rw: &Rewritten) -> Result<()> {
        let known = self.placeholder_names();
        for p in &rw.placeholders {
            let at = || Located::at("expression", template, p.span.start);
            let shown = &template[p.span.clone()];
            if p.unknown {
                let list: Vec<String> = known.iter().map(|k| format!("{{{{{k}}}}}")).collect();
                let more = match self.placeholders {
                    Placeholders::Args => " (and {{NAME}} for each --arg NAME VALUE)",
                    Placeholders::Run => "",
                };
                let msg = match known.iter().find(|k| k.eq_ignore_ascii_case(&p.name)) {
                    Some(k) => format!("unknown placeholder {shown}: did you mean {{{{{k}}}}}?"),
                    None => format!(
                        "unknown placeholder {shown}: the placeholders are {}{more}",
                        list.join(", ")
                    ),
                };
                return Err(Error::ExprSyntax { msg, at: at() });
            }
            if self.args.iter().any(|(n, _)| *n == p.name) {
                continue;
            }
            if p.name == "VERSION" {
                return Err(Error::Usage(
                    "the expression uses {{VERSION}} but no version was given: pass --arg VERSION X.Y.Z or set VERSION"
                        .into(),
                ));
            }
            let how = RUN_PLACEHOLDERS
                .iter()
                .find(|(n, _)| *n == p.name && self.placeholders == Placeholders::Run)
                .map_or_else(
                    || format!("pass --arg {} VALUE", p.name),
                    |(_, h)| h.to_string(),
                );
            return Err(Error::Usage(format!(
                "the expression uses {shown} but {} has no value: {how}",
                p.name
            )));
        }
        Ok(())
    }

    /// The environment variables the template reads, each allowed by the policy and set:
    /// `strenv(NAME)`'s as strings, `env(NAME)`'s typed as YAML.
    pub(super) fn read_env(
        &self,
        template: &str,
        rw: &Rewritten,
    ) -> Result<(EnvValues, EnvValues)> {
        let mut strenv = Vec::new();
        let mut env = Vec::new();
        for r in &rw.env_refs {
            let at = || Located::at("expression", template, r.span.start);
            if !self.policy.allows(&r.name) {
                return Err(Error::ExprSyntax {
                    msg: format!(
                        "the environment variable {} cannot be read here: {}",
                        r.name,
                        self.policy.describe()
                    ),
                    at: at(),
                });
            }
            let Some(value) = self.env.get(&r.name) else {
                return Err(Error::ExprSyntax {
                    msg: format!("the environment variable {} is not set", r.name),
                    at: at(),
                });
            };
            let key = Val::from(r.name.clone());
            if r.typed {
                env.push((
                    key,
                    typed_env(&r.name, value).map_err(|msg| Error::ExprSyntax { msg, at: at() })?,
                ));
            } else {
                strenv.push((key, Val::from(value.clone())));
            }
        }
        Ok((strenv, env))
    }

    pub(super) fn visible_env(&self) -> impl Iterator<Item = (&String, &String)> {
        self.env.iter().filter(|(k, _)| self.policy.allows(k))
    }
}

/// `env(NAME)`'s value: the variable's text read as YAML, so a list or a mapping is one,
/// as yq's `env` decodes it (pkg/yqlib/operator_env.go; `strenv` does not). yq refuses an
/// empty variable, and so does this; a variable that holds several documents gives the
/// first, as yq's decoder does.
fn typed_env(name: &str, value: &str) -> std::result::Result<Val, String> {
    if value.is_empty() {
        return Err(format!(
            "the environment variable {name} is empty; env() reads its value as YAML (use strenv({name}) for a string)"
        ));
    }
    let file = format!("the environment variable {name}");
    match crate::yaml::parse(value, &file) {
        Ok(parsed) => Ok(parsed.values.into_iter().next().unwrap_or(Val::Null)),
        Err(e) => Err(format!(
            "env({name}) reads its value as YAML, which it is not ({}); use strenv({name}) for a string",
            e.to_string().lines().next().unwrap_or_default()
        )),
    }
}
