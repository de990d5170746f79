//! Budgets for hostile input (issue 16): a document whose aliases expand it far beyond its
//! text is refused at once, and ordinary anchor reuse is not. Time bounds here are generous
//! guards against a hang, not measurements.

use std::time::{Duration, Instant};

use crate::common::{bin, run_with_stdin};

/// The billion-laughs shape: `levels` levels of ten aliases of the level below.
fn bomb(levels: usize) -> String {
    let mut s = String::from("a0: &a0 \"lol\"\n");
    for i in 1..=levels {
        let items = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    s.push_str("version: 1\n");
    s
}

#[test]
fn an_alias_bomb_is_refused_at_once_naming_the_alias() {
    for levels in [9, 12] {
        let input = bomb(levels);
        let started = Instant::now();
        let r = run_with_stdin(bin().args(["eval", ".version = 2"]), Some(input.as_bytes()));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{levels} levels took {:?}",
            started.elapsed()
        );
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("line 4: the alias *a2 expands the document")
                && r.stderr.contains("alias bomb"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn ordinary_anchor_reuse_loads_and_edits() {
    // A 40-key block merged into 60 services, and three levels of modest nesting: far more
    // reuse than Helm values have, and still well inside the budget.
    let mut input = String::from("base: &base\n");
    for k in 0..40 {
        input.push_str(&format!("  k{k}: v{k}\n"));
    }
    for s in 0..60 {
        input.push_str(&format!("svc{s}:\n  <<: *base\n  name: s{s}\n"));
    }
    input.push_str("l1: &l1 [x, y, z]\nl2: &l2 [*l1, *l1, *l1]\nl3: [*l2, *l2, *l2]\nversion: 1\n");
    let r = run_with_stdin(bin().args(["eval", ".version = 2"]), Some(input.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, input.replace("version: 1", "version: 2"));
}
