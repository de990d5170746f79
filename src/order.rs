//! Which of two versions is newer, where that can be known from the text alone. Out-of-order
//! pipelines must not move a value backwards, so `run` compares the value it replaces with
//! the one it writes; this module says when it can order them and how.
//!
//! Two schemes, each with an optional `v` or `V` before it:
//! - **SemVer 2.0** (`1.2.3`, `1.2.3-rc.1`, `1.2.3+build.5`): precedence as semver.org's §11
//!   says: major, minor and patch numerically; a pre-release is older than its release;
//!   pre-release identifiers compared left to right, numeric ones as numbers and below
//!   alphanumeric ones, a shorter list older when all before are equal; build metadata
//!   ignored.
//! - **Dotted numbers** (`2`, `1.2`, `2024.01.15`, `1.2.3.4`): component by component as
//!   numbers, a missing component counting as 0 (`1.2` = `1.2.0`).
//!
//! A digest after `@` (`1.2.3@sha256:…`) is set aside: the versions before it are compared,
//! and equal versions with different digests cannot be ordered. Anything else (a digest
//! alone, a commit sha, a date with dashes, free text) cannot be ordered either: `None`.

use std::cmp::Ordering;

/// How `new` stands to `old`, when both are versions of a scheme above; `None` when either
/// cannot be ordered, or they differ only in their digests.
pub fn compare(old: &str, new: &str) -> Option<Ordering> {
    let (old_v, old_digest) = split_digest(old);
    let (new_v, new_digest) = split_digest(new);
    let order = Parsed::read(new_v)?.cmp_to(&Parsed::read(old_v)?);
    if order == Ordering::Equal && old_digest != new_digest {
        return None;
    }
    Some(order)
}

fn split_digest(s: &str) -> (&str, Option<&str>) {
    match s.split_once('@') {
        Some((v, d)) => (v, Some(d)),
        None => (s, None),
    }
}

/// A version read in one of the schemes.
#[derive(Debug)]
struct Parsed<'a> {
    numbers: Vec<u64>,
    /// SemVer's pre-release identifiers; empty for a release or a dotted version.
    pre: Vec<&'a str>,
}

impl<'a> Parsed<'a> {
    fn read(s: &'a str) -> Option<Parsed<'a>> {
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        // Build metadata never takes part in precedence (§10).
        let s = match s.split_once('+') {
            Some((v, build)) if identifiers(build) => v,
            Some(_) => return None,
            None => s,
        };
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) if identifiers(pre) => (core, pre.split('.').collect()),
            Some(_) => return None,
            None => (s, Vec::new()),
        };
        let numbers = core.split('.').map(number).collect::<Option<Vec<u64>>>()?;
        // A pre-release belongs to SemVer's three numbers only: `1.2-rc1` is not a version
        // this can order (nor `2024-01-15`, a date).
        if !pre.is_empty() && numbers.len() != 3 {
            return None;
        }
        Some(Parsed { numbers, pre })
    }

    /// How `self` stands to `other`.
    fn cmp_to(&self, other: &Parsed) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(&self.numbers, i).cmp(&at(&other.numbers, i)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| pre_release(&self.pre, &other.pre))
    }
}

/// Dot-separated identifiers of `[0-9A-Za-z-]`, none empty (§9, §10).
fn identifiers(s: &str) -> bool {
    s.split('.')
        .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Digits only. A leading zero, which SemVer forbids, is read as the number it writes, so
/// that date-like versions (`2024.01.15`) order as dates.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// §11.3–11.4: a release is newer than its pre-releases; identifiers left to right.
fn pre_release(a: &[&str], b: &[&str]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b) {
        let o = match (number(x), number(y)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// The version `old` held where `new` holds `version`: the text of `old` between the prefix
/// and suffix that surround `version` in `new` (`repo:1.2.0` for `repo:1.2.3` gives
/// `1.2.0`). `None` when `new` does not hold `version`, or `old` does not share what
/// surrounds it.
pub fn replaced<'a>(old: &'a str, new: &str, version: &str) -> Option<&'a str> {
    let at = new.find(version)?;
    let (prefix, suffix) = (&new[..at], &new[at + version.len()..]);
    old.strip_prefix(prefix)?
        .strip_suffix(suffix)
        .filter(|v| !v.is_empty())
}

/// A value the update would move backwards: where, and the newer version it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downgrade {
    pub path: String,
    pub recorded: String,
}

/// The first value of `file` that writing `after` over `before` would move to an older
/// version than it holds, where both read as versions (`compare`). A value that holds
/// `version` is compared by the part `version` stands in (`repo:1.2.3` against
/// `repo:1.3.0`); values that cannot be ordered are left to the caller.
pub fn downgrade(
    file: &str,
    before: &str,
    after: &str,
    version: &str,
) -> crate::error::Result<Option<Downgrade>> {
    let old = crate::yaml::parse(before, file)?.values;
    let new = crate::yaml::parse(after, file)?.values;
    for (o, n) in old.iter().zip(&new) {
        for d in crate::yaml::schema::differences(o, n) {
            let (Some(o), Some(n)) = (d.old.and_then(scalar_text), d.new.and_then(scalar_text))
            else {
                continue;
            };
            let Some(recorded) = replaced(&o, &n, version) else {
                continue;
            };
            if compare(recorded, version) == Some(Ordering::Less) {
                return Ok(Some(Downgrade {
                    path: crate::path::show(&d.path),
                    recorded: recorded.to_string(),
                }));
            }
        }
    }
    Ok(None)
}

/// A string or number as its text; `None` for anything else.
fn scalar_text(v: &jaq_json::Val) -> Option<String> {
    match v {
        jaq_json::Val::TStr(b) | jaq_json::Val::BStr(b) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        jaq_json::Val::Num(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn a_downgrade_is_found_by_the_part_the_version_stands_in() {
        let down = |before: &str, after: &str, version: &str| {
            downgrade("f.yaml", before, after, version)
                .unwrap()
                .map(|d| (d.path, d.recorded))
        };
        assert_eq!(
            down("image: repo:1.3.0\n", "image: repo:1.2.0\n", "1.2.0"),
            Some((".image".into(), "1.3.0".into()))
        );
        // A number the file holds (`version: 1.10` reads as a float) keeps its text.
        assert_eq!(
            down("a: {version: 1.10}\n", "a: {version: 1.9}\n", "1.9"),
            Some((".a.version".into(), "1.10".into()))
        );
        assert_eq!(down("v: 1.2.0\n", "v: 1.3.0\n", "1.3.0"), None);
        // A value that does not hold the version, or cannot be ordered, is not judged.
        assert_eq!(down("replicas: 5\n", "replicas: 2\n", "1.0.0"), None);
        assert_eq!(down("d: sha256:ff\n", "d: sha256:00\n", "sha256:00"), None);
    }

    #[test]
    fn semver_precedence_as_the_spec_lists_it() {
        // semver.org §11.4's example, oldest first.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
            "10.0.0",
        ];
        for (i, old) in chain.iter().enumerate() {
            for (j, new) in chain.iter().enumerate() {
                assert_eq!(compare(old, new), Some(j.cmp(&i)), "{old} -> {new}");
            }
        }
    }

    #[test]
    fn a_v_prefix_and_build_metadata_do_not_count() {
        assert_eq!(compare("v1.2.3", "1.2.4"), Some(Greater));
        assert_eq!(compare("1.2.3", "V1.2.3"), Some(Equal));
        assert_eq!(compare("1.2.3+build.1", "1.2.3+build.2"), Some(Equal));
        assert_eq!(compare("1.2.3+build.9", "1.2.2+build.10"), Some(Less));
    }

    #[test]
    fn dotted_numbers_compare_by_component() {
        assert_eq!(compare("1.9", "1.10"), Some(Greater));
        assert_eq!(compare("2024.01.15", "2024.1.16"), Some(Greater));
        assert_eq!(compare("1.2", "1.2.0"), Some(Equal));
        assert_eq!(compare("2", "1.99.99"), Some(Less));
        assert_eq!(compare("1.2.3.4", "1.2.3.10"), Some(Greater));
    }

    #[test]
    fn digests_are_set_aside_and_equal_versions_with_other_digests_are_unordered() {
        let (a, b) = (
            format!("sha256:{}", "a".repeat(64)),
            format!("sha256:{}", "b".repeat(64)),
        );
        assert_eq!(
            compare(&format!("1.2.3@{a}"), &format!("1.2.4@{b}")),
            Some(Greater)
        );
        assert_eq!(
            compare(&format!("1.2.3@{a}"), &format!("1.2.2@{a}")),
            Some(Less)
        );
        assert_eq!(
            compare(&format!("1.2.3@{a}"), &format!("1.2.3@{a}")),
            Some(Equal)
        );
        assert_eq!(compare(&format!("1.2.3@{a}"), &format!("1.2.3@{b}")), None);
        assert_eq!(compare(&a, &b), None);
    }

    #[test]
    fn what_is_not_a_version_is_not_ordered() {
        for (old, new) in [
            ("latest", "1.2.3"),
            ("1.2.3", "main"),
            ("0123456789abcdef0123456789abcdef01234567", "1.2.3"),
            ("2024-01-15", "2024-01-16"),
            ("1.2-rc1", "1.2"),
            ("1.2.3-", "1.2.3"),
            ("1..2", "1.2"),
            ("", "1"),
            ("1.2.3+", "1.2.3"),
            ("1.2.x", "1.2.3"),
        ] {
            assert_eq!(compare(old, new), None, "{old} -> {new}");
        }
    }

    #[test]
    fn the_replaced_version_is_read_from_around_the_new_one() {
        assert_eq!(replaced("1.2.0", "1.2.3", "1.2.3"), Some("1.2.0"));
        assert_eq!(replaced("repo:1.2.0", "repo:1.2.3", "1.2.3"), Some("1.2.0"));
        assert_eq!(
            replaced("repo:v9-slim", "repo:v1.2.3-slim", "1.2.3"),
            Some("9")
        );
        assert_eq!(replaced("other:1.2.0", "repo:1.2.3", "1.2.3"), None);
        assert_eq!(replaced("repo:", "repo:1.2.3", "1.2.3"), None);
        assert_eq!(replaced("3", "2", "1.2.3"), None);
    }
}
