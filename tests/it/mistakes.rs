//! What a platform engineer types, mistakes included, with the habits of yq, Helm and git
//! (issue 25). Each row is the update run as the GitOps workflow starts it, with the
//! expression a user would write; it either does exactly the intended edit or fails with
//! exit 2, one line that says what is wrong and the fix, and the remote as it was.

use crate::common::git::{git_out, Remote};
use crate::common::run::{workflow, VALUES};
use crate::common::{run, Run};

const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: app  # the web app\n    newTag: 1.0.0\n  - name: db\n    newTag: \"15\"\n";
const MANIFESTS: &str = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n---\napiVersion: v1\nkind: Service\nspec:\n  port: 80\n";

/// The version every row dispatches, and the source commit the workflow passes.
const VERSION: &str = "1.2.3";
const SOURCE_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

struct Row {
    name: &'static str,
    file: &'static str,
    expr: &'static str,
    code: i32,
    /// The file at the remote's tip afterwards; `None`: the branch did not move.
    after: Option<String>,
    /// A line of stderr says this.
    says: &'static str,
}

fn row(name: &'static str, file: &'static str, expr: &'static str, code: i32) -> Row {
    Row {
        name,
        file,
        expr,
        code,
        after: None,
        says: "",
    }
}

impl Row {
    fn after(mut self, text: String) -> Row {
        self.after = Some(text);
        self
    }
    fn says(mut self, text: &'static str) -> Row {
        self.says = text;
        self
    }
}

fn values_with_tag(tag: &str) -> String {
    VALUES.replace("\"1.0.0\"", &format!("\"{tag}\""))
}

fn rows() -> Vec<Row> {
    let v = "charts/app/values.yaml";
    let k = "kustomization.yaml";
    let m = "manifests.yaml";
    vec![
        // yq's read-only path: the value, not the document.
        row("a read-only path", v, ".image.tag", 2)
            .says("yields the string \"1.0.0\" (the value at .image.tag), not the updated document, so nothing was changed; to set it, write `.image.tag = \"{{VERSION}}\"`"),
        row("a path to a mapping", v, ".image", 2)
            .says("(the value at .image), not the updated document, so nothing was changed; `eval` without -i or --diff prints such a value"),
        row("a value computed from a part", v, ".image | length", 2)
            .says("yields the number 2 (computed from the value at .image)"),
        // The most common yq mistake: a pipe without parentheses.
        row("an unparenthesised pipe that selects", k, ".images[] | select(.name == \"app\") | .newTag = \"{{VERSION}}\"", 2)
            .says("yields a mapping (name, newTag) (the value at .images[0], updated), not the updated document, so nothing was changed; to update it in place, write `(.images[] | select(.name == \"app\") | .newTag) = \"{{VERSION}}\"`"),
        row("the parenthesised fix", k, "(.images[] | select(.name == \"app\") | .newTag) = \"{{VERSION}}\"", 0)
            .after(KUSTOMIZATION.replace("newTag: 1.0.0", "newTag: 1.2.3")),
        row("an update of each item that selects inside", k, ".images[] |= (select(.name == \"app\").newTag = \"{{VERSION}}\")", 0)
            .after(KUSTOMIZATION.replace("newTag: 1.0.0", "newTag: 1.2.3")),
        row("a multi-line pipe into a path", v, ".image\n  | .tag = \"{{VERSION}}\"", 2)
            .says("write `(.image | .tag) = \"{{VERSION}}\"`"),
        row("a pipe into a path", v, ".image | .tag = \"{{VERSION}}\"", 2)
            .says("write `(.image | .tag) = \"{{VERSION}}\"`"),
        row("an update piped into a read", v, ".image.tag = \"{{VERSION}}\" | .image", 2)
            .says("the update is `.image.tag = \"{{VERSION}}\"`: leave out `| .image`"),
        row("== typed for =", v, ".image.tag == \"{{VERSION}}\"", 2)
            .says("yields false, not the updated document, so nothing was changed; `==` compares; to set the value, write `.image.tag = \"{{VERSION}}\"`"),
        row("a comma where a pipe belongs", v, ".image.tag, .replicas = 3", 2)
            .says("yields several values for charts/app/values.yaml, so nothing was changed; join updates with |: to set them all, write `(.image.tag, .replicas) = 3`"),
        row("empty", v, "empty", 2).says("yields no value"),
        row("a select alone", m, "select(.kind == \"Deployment\")", 2)
            .says("a select alone keeps only what it matches; to change a value there, put it in the left side of an assignment, as in `(select(.kind == \"Deployment\") | .spec.replicas) = 3`"),
        row("a literal mapping", v, "{\"tag\": \"{{VERSION}}\"}", 2)
            .says("keeps none of the document's keys"),
        row("an empty mapping", v, "{}", 2).says("an empty mapping that keeps none of the document's keys"),
        row("an alternative that computes", v, ".status // {}", 2).says("keeps none of the document's keys"),
        row("a computed number", v, ".replicas + 1", 2).says("yields the number 3"),
        row("length", v, "length", 2).says("yields the number 2"),
        row("the root replaced by a string", v, ". = \"{{VERSION}}\"", 2)
            .says("in place of the document's mapping"),
        // A select at the top of a multi-document file drops the other documents in yq -i.
        row("a select over documents", m, "select(.kind == \"Deployment\") | .spec.replicas = 3", 2)
            .says("yields no value for document 2 of manifests.yaml (a select that matched nothing, or empty), so nothing was changed; an update keeps the document: write `(select(.kind == \"Deployment\") | .spec.replicas) = 3`"),
        row("the select fix", m, "(select(.kind == \"Deployment\") | .spec.replicas) = 3", 0)
            .after(MANIFESTS.replace("replicas: 2", "replicas: 3")),
        // Placeholders: the Helm habit of spaces, other names, other cases.
        row("{{ VERSION }} with spaces", v, ".image.tag = \"{{ VERSION }}\"", 0).after(values_with_tag(VERSION)),
        row("<<VERSION>>", v, ".image.tag = \"<<VERSION>>\"", 0).after(values_with_tag(VERSION)),
        row("an unquoted placeholder", v, ".image.tag = {{VERSION}}", 0).after(values_with_tag(VERSION)),
        row("v{{VERSION}}", v, ".image.tag = \"v{{VERSION}}\"", 0).after(values_with_tag("v1.2.3")),
        row("{{SOURCE_COMMIT}}", v, ".image.tag = \"{{SOURCE_COMMIT}}\" | .version = \"{{VERSION}}\"", 0)
            .after(format!("{}version: 1.2.3\n", values_with_tag(SOURCE_COMMIT))),
        row("an unknown placeholder", v, ".image.tag = \"{{TAG}}\"", 2)
            .says("unknown placeholder {{TAG}}: the placeholders are {{VERSION}}, {{DIGEST}}, {{SOURCE_REPO}}, {{SOURCE_COMMIT}}, {{DISPATCH_ID}}, {{GIT_TAG_PREFIX}}"),
        row("an unknown placeholder with spaces", v, ".image.tag = \"{{ IMAGE_TAG }}\"", 2)
            .says("unknown placeholder {{ IMAGE_TAG }}"),
        row("a placeholder in lower case", v, ".image.tag = \"{{version}}\"", 2)
            .says("unknown placeholder {{version}}: did you mean {{VERSION}}?"),
        row("a placeholder with no value", v, ".image.tag = \"{{GIT_TAG_PREFIX}}{{VERSION}}\"", 2)
            .says("the expression uses {{GIT_TAG_PREFIX}} but GIT_TAG_PREFIX has no value: set GIT_TAG_PREFIX or pass --tag-prefix"),
        row("a Helm template stays text", v, ".image.tag = \"{{ .Values.tag }}-{{VERSION}}\"", 0)
            .after(values_with_tag("{{ .Values.tag }}-1.2.3")),
        row("a placeholder spelled in pieces", v, ".image.tag = \"{{\" + \"VERSION}}\"", 2)
            .says("holds a placeholder such as {{VERSION}} that nothing filled in"),
        // yq spellings that work as yq's.
        row("strenv", v, ".image.tag = strenv(VERSION)", 0).after(values_with_tag(VERSION)),
        row("|= with a string", v, ".image.tag |= \"{{VERSION}}\"", 0).after(values_with_tag(VERSION)),
        row("with()", v, "with(.image; .tag = \"{{VERSION}}\")", 0).after(values_with_tag(VERSION)),
        row("a merge with *", v, ". * {\"image\": {\"tag\": \"{{VERSION}}\"}}", 0).after(values_with_tag(VERSION)),
        row("del of a key", v, "del(.replicas) | .image.tag = \"{{VERSION}}\"", 0)
            .after(values_with_tag(VERSION).replace("replicas: 2\n", "")),
        // Syntax slips.
        row("a missing parenthesis", k, "(.images[] | select(.name == \"app\") | .newTag = \"{{VERSION}}\"", 2)
            .says("expression error at line 1"),
        row("a typo of =", v, ".image.tag := \"{{VERSION}}\"", 2).says("expression error at line 1"),
        row("a yq-only function", v, ".image.tag = \"{{VERSION}}\" | to_xml", 2)
            .says("`to_xml` is a yq function that gitops-update does not support"),
        row("a missing file", "charts/app/value.yaml", ".image.tag = \"{{VERSION}}\"", 2)
            .says("charts/app/value.yaml does not exist on branch main"),
    ]
}

fn seed() -> Remote {
    Remote::new(&[
        ("charts/app/values.yaml", VALUES),
        ("kustomization.yaml", KUSTOMIZATION),
        ("manifests.yaml", MANIFESTS),
    ])
}

/// Checks one row; a description of what went wrong, or `None`.
fn check(r: &Row) -> Option<String> {
    let remote = seed();
    let before = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let outputs = cwd.path().join("outputs");
    let got: Run = run(workflow(cwd.path(), &remote.file_url())
        .env("INPUT_FILE", r.file)
        .env("YQ_TPL", r.expr)
        .env("VERSION", VERSION)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("DISPATCH_ID"));
    let mut wrong = Vec::new();
    if got.code != r.code {
        wrong.push(format!("exit {} instead of {}", got.code, r.code));
    }
    if !r.says.is_empty() && !got.stderr.lines().any(|l| l.contains(r.says)) {
        wrong.push(format!("no line says {:?}", r.says));
    }
    match &r.after {
        None if remote.tip("main") != before => wrong.push("the branch moved".into()),
        None => {}
        Some(text) => {
            let file = remote.show("main", r.file);
            if file != *text {
                wrong.push(format!("the file is {file:?}, not {text:?}"));
            }
            if remote.log("main").len() != 2 {
                wrong.push("not exactly one commit".into());
            }
        }
    }
    if got.code != 0 {
        let errors: Vec<&str> = got
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        if errors.len() != 1 {
            wrong.push(format!("{} error lines", errors.len()));
        }
        if !got.stdout.is_empty() {
            wrong.push("stdout is not empty".into());
        }
    }
    // The pipeline's report line has its five fields whatever happened.
    let outputs = std::fs::read_to_string(&outputs).unwrap_or_default();
    let summary = outputs.lines().find_map(|l| l.strip_prefix("summary="));
    let status = if r.code == 0 { "success" } else { "failure" };
    match summary.map(|s| s.split('|').collect::<Vec<_>>()) {
        Some(f) if f.len() == 5 && f[1] == VERSION && f[2] == status => {}
        other => wrong.push(format!("summary {other:?}")),
    }
    remote.fsck();
    (!wrong.is_empty())
        .then(|| format!("{}: {}\n  stderr: {}", r.name, wrong.join("; "), got.stderr))
}

#[test]
fn every_mistake_works_or_fails_with_one_line_and_changes_nothing() {
    let rows = rows();
    // Rows run four at a time: each has its own remote and working directory.
    let failures: Vec<String> = std::thread::scope(|s| {
        rows.chunks(rows.len().div_ceil(4))
            .map(|chunk| s.spawn(move || chunk.iter().filter_map(check).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn an_expression_without_the_version_is_warned_about() {
    let remote = seed();
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &remote.file_url()).env("YQ_TPL", ".replicas = 3"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.lines().any(|l| l
            == "warning: the expression for charts/app/values.yaml does not use the version ({{VERSION}}), yet the commit will say \"update version to 1.2.3\""),
        "{}",
        r.stderr
    );
    let r = run(&mut workflow(cwd.path(), &remote.file_url()));
    assert!(!r.stderr.contains("warning:"), "{}", r.stderr);
    let _ = git_out(&remote.bare(), &["log", "--oneline"]);
}
