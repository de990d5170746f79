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
    let (old_p, new_p) = (Parsed::read(old_v)?, Parsed::read(new_v)?);
    if old_p.calendar() != new_p.calendar() {
        // `2024.01.15` and `1.0.0` are two schemes, not an order.
        return None;
    }
    let numbers = new_p.cmp_numbers(&old_p);
    if numbers == Ordering::Equal && (old_p.opaque_pre() || new_p.opaque_pre()) {
        // A sha or `git describe` after the dash (`1.2.3-abc1234`, `1.2.3-5-gabc1234`),
        // or `beta9` against `beta10`: SemVer orders them as text, builds do not.
        return None;
    }
    let order = new_p.cmp_to(&old_p);
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

    /// A calendar version: two or more numbers, the first a year (`2024.01.15`).
    fn calendar(&self) -> bool {
        self.numbers.len() >= 2 && (1900..=9999).contains(&self.numbers[0])
    }

    /// A pre-release identifier that mixes letters and digits (`abc1234`, `beta9`,
    /// `5-gabc1234`): text order, which says nothing about which build is newer.
    fn opaque_pre(&self) -> bool {
        self.pre.iter().any(|id| {
            let letters = id.bytes().any(|b| b.is_ascii_alphabetic());
            let digits = id.bytes().any(|b| b.is_ascii_digit());
            (letters && digits) || id.contains('-')
        })
    }

    /// How `self`'s numbers stand to `other`'s, a missing one counting as 0.
    fn cmp_numbers(&self, other: &Parsed) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(&self.numbers, i).cmp(&at(&other.numbers, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    /// How `self` stands to `other`.
    fn cmp_to(&self, other: &Parsed) -> Ordering {
        self.cmp_numbers(other)
            .then_with(|| pre_release(&self.pre, &other.pre))
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

/// The versions `old` held where `new` holds `version`: both values cut into their
/// version-like tokens (a run of digits and dots, with an optional `v` before it and a
/// pre-release or build after it, that no letter or digit touches), and where the two cut
/// alike, each old token at a place where the new one is `version` (or its core, without
/// a `v` or a digest: `v{{VERSION}}`, or `1.2.3` written from `1.2.3@sha256:…`).
/// `repo-1.3.0:1.3.0` against `repo-1.2.0:1.2.0` gives both `1.3.0`s; `app3:5` against
/// `app3:3` gives `5`.
pub fn replaced<'a>(old: &'a str, new: &str, version: &str) -> Vec<&'a str> {
    let (old_tokens, new_tokens) = (tokens(old), tokens(new));
    if old_tokens.len() != new_tokens.len() {
        return Vec::new();
    }
    old_tokens
        .into_iter()
        .zip(new_tokens)
        .filter(|(_, n)| stands_for(n, version))
        .map(|(o, _)| o)
        .collect()
}

/// Whether the token `n` was written from `version`: the version itself, its core (no
/// `v`, no digest), or the core with a suffix the template adds (`1.2.3-alpine`).
fn stands_for(n: &str, version: &str) -> bool {
    let core = core_of(split_digest(version).0);
    n == version || core_of(n) == core && !core.is_empty()
}

/// A version's numbers: without a `v`, a pre-release or build suffix, or a digest.
fn core_of(s: &str) -> &str {
    let s = split_digest(s).0;
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    s.split(['-', '+']).next().unwrap_or(s)
}

/// The version-like tokens of `s`, in order (see `replaced`).
fn tokens(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let word = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric());
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let v = usize::from(matches!(b[i], b'v' | b'V'));
        let starts = b.get(i + v).is_some_and(u8::is_ascii_digit) && (i == 0 || !word(i - 1));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i + v;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b".-+".contains(&b[end])) {
            end += 1;
        }
        // A version does not end on a separator (`1.2.3.` at a sentence's end).
        while end > i && b".-+".contains(&b[end - 1]) {
            end -= 1;
        }
        out.push(&s[i..end]);
        i = end.max(i + 1);
    }
    out
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
    for (path, o, n) in changed_scalars(file, before, after)? {
        let pairs = replaced(&o, &n, version)
            .into_iter()
            .zip(written(&n, version));
        for (recorded, written) in pairs {
            if older(recorded, written, version) {
                return Ok(Some(Downgrade {
                    path,
                    recorded: recorded.to_string(),
                }));
            }
        }
    }
    Ok(None)
}

/// The scalars of `file` that writing `after` over `before` changes, where the documents
/// still line up (`aligned`): each value's path, its old text and its new text.
fn changed_scalars(
    file: &str,
    before: &str,
    after: &str,
) -> crate::error::Result<Vec<(String, String, String)>> {
    let old = crate::yaml::parse(before, file)?.values;
    let new = crate::yaml::parse(after, file)?.values;
    let mut out = Vec::new();
    for (o_doc, n_doc) in old.iter().zip(&new) {
        for d in crate::yaml::schema::differences(o_doc, n_doc) {
            let (Some(o), Some(n)) = (d.old.and_then(scalar_text), d.new.and_then(scalar_text))
            else {
                continue;
            };
            if aligned(o_doc, n_doc, &d.path) {
                out.push((crate::path::show(&d.path), o, n));
            }
        }
    }
    Ok(out)
}

/// Each value of `file` that writing `after` over `before` changes, with the version-like
/// part of the old value that `version` replaces (`replaced`): the value's path and what
/// it held.
pub fn held(
    file: &str,
    before: &str,
    after: &str,
    version: &str,
) -> crate::error::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (path, o, n) in changed_scalars(file, before, after)? {
        for h in replaced(&o, &n, version) {
            out.push((path.clone(), h.to_string()));
        }
    }
    Ok(out)
}

/// The tokens of `new` that stand for `version`, in the order `replaced` gives the old
/// ones (each is compared with its own, `v` and digest as written).
fn written<'a>(new: &'a str, version: &str) -> Vec<&'a str> {
    tokens(new)
        .into_iter()
        .filter(|n| stands_for(n, version))
        .collect()
}

/// Whether writing `new` over `recorded` moves a version backwards. A token that is the
/// version as given is compared whole; one the template dressed (`1.2.3-alpine` from
/// `1.2.3`) by its numbers only, since its suffix is a variant, not a pre-release.
fn older(recorded: &str, new: &str, version: &str) -> bool {
    let whole = new == version || core_of(new) == new.trim_start_matches(['v', 'V']);
    let (a, b) = if whole {
        (recorded, new)
    } else {
        (core_of(recorded), core_of(new))
    };
    compare(a, b) == Some(Ordering::Less)
}

/// Whether the items of every sequence along `path` still stand where they stood: an
/// entry added or removed (`[new] + .images`) moves the others, and items compared by
/// position would then be different entries.
fn aligned(old: &jaq_json::Val, new: &jaq_json::Val, path: &[crate::path::Step]) -> bool {
    use crate::path::Step;
    use jaq_json::Val;
    let (mut o, mut n) = (old, new);
    for step in path {
        let next = match (o, n, step) {
            (Val::Arr(a), Val::Arr(b), Step::Index(i)) if a.len() == b.len() => {
                a.get(*i).zip(b.get(*i))
            }
            (Val::Arr(_), Val::Arr(_), _) => return false,
            (Val::Obj(a), Val::Obj(b), Step::Key(k)) => {
                let k = jaq_json::Val::from(k.clone());
                a.get(&k).zip(b.get(&k))
            }
            _ => return true,
        };
        match next {
            Some((a, b)) => (o, n) = (a, b),
            None => return true,
        }
    }
    true
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
    fn the_replaced_versions_are_the_old_tokens_where_the_new_ones_stand() {
        assert_eq!(replaced("1.2.0", "1.2.3", "1.2.3"), ["1.2.0"]);
        assert_eq!(replaced("repo:1.2.0", "repo:1.2.3", "1.2.3"), ["1.2.0"]);
        assert_eq!(
            replaced("repo:v9-slim", "repo:v1.2.3-slim", "1.2.3"),
            ["v9-slim"]
        );
        // Every place the version stands, and a token no letter or digit touches.
        assert_eq!(
            replaced("repo-1.3.0:1.3.0", "repo-1.2.0:1.2.0", "1.2.0"),
            ["1.3.0", "1.3.0"]
        );
        assert_eq!(replaced("app3:5", "app3:3", "3"), ["5"]);
        // From the version's core: a `v` the template adds, a digest split off.
        assert_eq!(replaced("v1.3.0", "v1.2.0", "1.2.0"), ["v1.3.0"]);
        assert_eq!(
            replaced(
                "1.3.0",
                "1.2.0",
                &format!("1.2.0@sha256:{}", "a".repeat(64))
            ),
            ["1.3.0"]
        );
        // Values that do not cut alike, or do not hold the version, give nothing.
        assert!(replaced("repo:", "repo:1.2.3", "1.2.3").is_empty());
        assert!(replaced("3", "2", "1.2.3").is_empty());
    }

    #[test]
    fn what_builds_do_not_order_is_left_alone() {
        for (old, new) in [
            ("1.2.3-abc1234", "1.2.3-0f1e2d3"),
            ("1.2.3", "1.2.3-5-gabc1234"),
            ("1.2.3-beta9", "1.2.3-beta10"),
            ("2024.01.15", "1.0.0"),
        ] {
            assert_eq!(compare(old, new), None, "{old} -> {new}");
        }
        // The numbers still decide where they differ.
        assert_eq!(compare("1.2.3-abc1234", "1.3.0"), Some(Greater));
        assert_eq!(compare("2024.01.15", "2024.02.01"), Some(Greater));
    }

    #[test]
    fn a_variant_suffix_is_compared_by_its_numbers_only() {
        assert!(older("1.3.0-alpine", "1.2.3-alpine", "1.2.3"));
        assert!(!older("1.2.3-slim", "1.2.3-alpine", "1.2.3"));
        assert!(older("1.2.3", "1.2.3-rc.1", "1.2.3-rc.1"));
    }
}
