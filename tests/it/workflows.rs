//! The shipped, example and generated workflows parse, pass gitops-update only variables it
//! reads, and reference only outputs it writes (learnt from real runs of the binary, not from
//! a list) and inputs they declare; a consumer calling the reusable gitops-dispatch.yml
//! passes exactly its inputs and reads only its outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use jaq_json::Val;

use crate::common::git::Remote;
use crate::common::permissions::{token_access, Access};
use crate::common::{bin, run};

/// Every workflow file the project ships, shows or generates (the generator's goldens).
const WORKFLOWS: [&str; 5] = [
    ".gitea/workflows/gitops-dispatch.yml",
    "examples/workflows/gitops-service.yaml",
    "examples/workflows/consumer.yaml",
    "testdata/workflow/one-deploy.workflow.yaml",
    "testdata/workflow/two-deploys.workflow.yaml",
];

const REUSABLE: &str = ".gitea/workflows/gitops-dispatch.yml";

fn load(name: &str) -> Val {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = fs::read_to_string(&path).unwrap();
    let parsed = gitops_update::yaml::parse(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    parsed.values.into_iter().next().unwrap()
}

fn get<'v>(v: &'v Val, key: &str) -> Option<&'v Val> {
    match v {
        Val::Obj(o) => o.get(&Val::from(key.to_string())),
        _ => None,
    }
}

fn text(v: &Val) -> String {
    match v {
        Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => other.to_string(),
    }
}

fn keys(v: Option<&Val>) -> BTreeSet<String> {
    match v {
        Some(Val::Obj(o)) => o.keys().map(text).collect(),
        _ => BTreeSet::new(),
    }
}

fn strings(v: &Val, out: &mut Vec<String>) {
    match v {
        Val::Obj(o) => o.iter().for_each(|(k, v)| {
            out.push(text(k));
            strings(v, out);
        }),
        Val::Arr(a) => a.iter().for_each(|v| strings(v, out)),
        Val::TStr(_) => out.push(text(v)),
        _ => {}
    }
}

/// The inputs a workflow declares, for `workflow_dispatch` or `workflow_call`.
fn declared_inputs(wf: &Val) -> BTreeSet<String> {
    let on = get(wf, "on");
    let mut out = BTreeSet::new();
    for trigger in ["workflow_dispatch", "workflow_call"] {
        out.extend(keys(
            on.and_then(|o| get(o, trigger))
                .and_then(|t| get(t, "inputs")),
        ));
    }
    out
}

/// `inputs.X` references in `s`.
fn input_refs(s: &str) -> Vec<(String, ())> {
    s.match_indices("inputs.")
        .filter(|(i, _)| {
            *i == 0
                || !s.as_bytes()[i - 1].is_ascii_alphanumeric()
                    && s.as_bytes()[i - 1] != b'.'
                    && s.as_bytes()[i - 1] != b'_'
        })
        .map(|(i, _)| {
            (
                s[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect(),
                (),
            )
        })
        .collect()
}

/// `prefix.X.outputs.Y` references in `s`.
fn refs(s: &str, prefix: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let word = |t: &str| {
        t.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect::<String>()
    };
    for (i, _) in s.match_indices(&format!("{prefix}.")) {
        let rest = &s[i + prefix.len() + 1..];
        let x = word(rest);
        if let Some(after) = rest[x.len()..].strip_prefix(".outputs.") {
            out.push((x, word(after)));
        }
    }
    out
}

/// Exit 8 (superseded) mapped to success, the only form a shipped step adds to the command:
/// anything else in a step that runs the tool fails `tool_command`'s caller.
const SUPERSEDED_OK: &str = " || [ \"$?\" -eq 8 ]";

/// Which command a step's `run:` runs: `run` or `dispatch`, alone or with exit 8 mapped to
/// success; `None` for a step that does not run the tool. Any other form is a panic, so a
/// change of form is noticed here.
fn tool_command(run_line: &str) -> Option<&'static str> {
    let line = run_line.trim();
    if !line.starts_with("gitops-update") {
        return None;
    }
    match line.strip_suffix(SUPERSEDED_OK).unwrap_or(line) {
        "gitops-update" | "gitops-update run" => Some("run"),
        "gitops-update dispatch" => Some("dispatch"),
        _ => panic!("a step that runs the tool in a form the test does not know: {line}"),
    }
}

/// The step outputs the binary writes, by command, from real runs.
fn written_outputs() -> BTreeMap<&'static str, BTreeSet<String>> {
    let out_keys = |file: &Path| -> BTreeSet<String> {
        fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, _)| k.to_string())
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let remote = Remote::new(&[("v.yaml", "a: 1\n")]);
    let run_out = dir.path().join("run");
    let r = run(bin()
        .current_dir(dir.path())
        .env("GITHUB_OUTPUT", &run_out)
        .args([
            "run",
            "--repo",
            &remote.file_url(),
            "--version",
            "1.0.0",
            "--set",
            "v.yaml=.a = 2",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dispatch_out = dir.path().join("dispatch");
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = run(bin()
        .current_dir(dir.path())
        .env("GITHUB_OUTPUT", &dispatch_out)
        .env("GITOPS_DISPATCH_TOKEN", "t")
        .args([
            "dispatch",
            "--repo",
            "acme/deploy",
            "--file",
            "v.yaml",
            "--expression",
            ".a = 1",
            "--version",
            "1.0.0",
        ])
        .args([
            "--server",
            &format!("http://127.0.0.1:{dead}"),
            "--source-repo",
            "acme/app",
            "--source-commit",
            "0123456789abcdef0123456789abcdef01234567",
            "--timeout",
            "1s",
        ]));
    assert_eq!(
        r.code, 3,
        "outputs are written on failure too: {}",
        r.stderr
    );
    BTreeMap::from([
        ("run", out_keys(&run_out)),
        ("dispatch", out_keys(&dispatch_out)),
    ])
}

/// The variables a command reads, from its own `--help` (`[env: NAME=]`), plus the tokens,
/// which are read from the environment only.
fn read_vars(command: &str) -> BTreeSet<String> {
    let r = run(bin().args([command, "--help"]));
    let mut vars: BTreeSet<String> = r
        .stdout
        .match_indices("[env: ")
        .map(|(i, _)| {
            r.stdout[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect()
        })
        .collect();
    let tokens: &[&str] = if command == "run" {
        &["GITEA_TOKEN"]
    } else {
        &["GITOPS_DISPATCH_TOKEN", "GITHUB_TOKEN", "GITEA_TOKEN"]
    };
    for t in tokens {
        assert!(r.stdout.contains(t), "--help of {command} names {t}");
        vars.insert(t.to_string());
    }
    vars
}

#[test]
fn example_workflows_match_the_binary() {
    let written = written_outputs();
    assert!(
        written["run"].contains("summary") && written["run"].contains("changed"),
        "{written:?}"
    );
    let reusable = load(REUSABLE);
    let call = get(get(&reusable, "on").unwrap(), "workflow_call").expect("workflow_call");
    let reusable_inputs = keys(get(call, "inputs"));
    let reusable_outputs = keys(get(call, "outputs"));
    let reusable_required: BTreeSet<String> = match get(call, "inputs") {
        Some(Val::Obj(o)) => o
            .iter()
            .filter(|(_, spec)| matches!(get(spec, "required"), Some(Val::Bool(true))))
            .map(|(k, _)| text(k))
            .collect(),
        _ => BTreeSet::new(),
    };
    // The shared workflow's inputs as consumers call it today, plus deploy_name and
    // wait_timeout; its outputs as their report jobs read them.
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        reusable_inputs,
        set(&[
            "env_json",
            "version",
            "GITOPS_FILE",
            "GITOPS_YQ_TPL",
            "GITOPS_REPO",
            "deploy_name",
            "wait_timeout"
        ])
    );
    assert_eq!(
        reusable_required,
        set(&[
            "env_json",
            "version",
            "GITOPS_FILE",
            "GITOPS_YQ_TPL",
            "GITOPS_REPO"
        ])
    );
    assert_eq!(
        reusable_outputs,
        set(&["summary", "commit_sha", "dispatch_id"])
    );
    let mut checked = 0;
    for name in WORKFLOWS {
        let wf = load(name);
        let jobs = get(&wf, "jobs").unwrap_or_else(|| panic!("{name}: no jobs"));
        let Val::Obj(jobs) = jobs else {
            panic!("{name}: jobs is not a mapping")
        };
        let mut steps_of_ours: BTreeMap<String, &'static str> = BTreeMap::new();
        for (job_name, job) in jobs.iter() {
            let Some(Val::Arr(steps)) = get(job, "steps") else {
                continue;
            };
            for step in steps.iter() {
                let run_line = get(step, "run").map(text).unwrap_or_default();
                let Some(command) = tool_command(&run_line) else {
                    continue;
                };
                let id = get(step, "id").map(text).unwrap_or_else(|| {
                    panic!(
                        "{name}: the gitops-update step in {} needs an id",
                        text(job_name)
                    )
                });
                let env = keys(get(step, "env"));
                let readable = read_vars(command);
                let unknown: Vec<_> = env.difference(&readable).collect();
                assert!(
                    unknown.is_empty(),
                    "{name}: gitops-update {command} does not read {unknown:?}"
                );
                steps_of_ours.insert(id, command);
            }
        }
        let calls_ours = |j: &Val| {
            get(j, "uses")
                .map(text)
                .is_some_and(|u| u.contains(&format!("/{REUSABLE}@")))
        };
        assert!(
            !steps_of_ours.is_empty() || jobs.values().any(calls_ours),
            "{name}: neither a gitops-update step nor a call of {REUSABLE}"
        );
        let job_outputs: BTreeMap<String, BTreeSet<String>> = jobs
            .iter()
            .map(|(k, j)| {
                let outputs = if calls_ours(j) {
                    reusable_outputs.clone()
                } else {
                    keys(get(j, "outputs"))
                };
                (text(k), outputs)
            })
            .collect();
        // A call of the reusable workflow gives every input it requires and no other.
        for (job_name, job) in jobs.iter().filter(|(_, j)| calls_ours(j)) {
            let given = keys(get(job, "with"));
            let unknown: Vec<_> = given.difference(&reusable_inputs).collect();
            assert!(
                unknown.is_empty(),
                "{name}: {} passes {unknown:?}",
                text(job_name)
            );
            for req in &reusable_required {
                assert!(
                    given.contains(req),
                    "{name}: {} lacks {req}",
                    text(job_name)
                );
            }
            checked += 1;
        }
        let declared_inputs = declared_inputs(&wf);
        let mut all = Vec::new();
        strings(&wf, &mut all);
        for s in &all {
            for (step, output) in refs(s, "steps") {
                if let Some(command) = steps_of_ours.get(&step) {
                    assert!(written[command].contains(&output), "{name}: steps.{step}.outputs.{output}: gitops-update {command} writes only {:?}", written[command]);
                    checked += 1;
                }
            }
            for (input, _) in input_refs(s) {
                assert!(
                    declared_inputs.contains(&input),
                    "{name}: inputs.{input} is not an input it declares"
                );
                checked += 1;
            }
            for (job, output) in refs(s, "jobs") {
                let declared = job_outputs
                    .get(&job)
                    .unwrap_or_else(|| panic!("{name}: no job {job}"));
                assert!(
                    declared.contains(&output),
                    "{name}: jobs.{job}.outputs.{output} is not an output of {job}"
                );
                checked += 1;
            }
            for (job, output) in refs(s, "needs") {
                let declared = job_outputs
                    .get(&job)
                    .unwrap_or_else(|| panic!("{name}: no job {job}"));
                assert!(
                    declared.contains(&output),
                    "{name}: needs.{job}.outputs.{output} is not an output of {job}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} references checked");
    // The dispatch inputs the workflow declares are exactly those `dispatch` sends.
    let wf = load("examples/workflows/gitops-service.yaml");
    let on = get(&wf, "on").unwrap();
    let inputs = keys(get(get(on, "workflow_dispatch").unwrap(), "inputs"));
    let sent: BTreeSet<String> = [
        "file",
        "yq_tpl",
        "version",
        "source_repo",
        "source_commit",
        "dispatch_id",
        "git_tag_prefix",
    ]
    .map(String::from)
    .into();
    assert_eq!(inputs, sent);
}

#[test]
fn the_job_token_rules_are_gitea_1_26s() {
    let yaml = |s: &str| gitops_update::yaml::parse(s, "p").unwrap().values[0].clone();
    let code = |p: Option<&Val>| token_access(p)["code"];
    assert_eq!(
        code(None),
        Access::Write,
        "no permissions: the default mode"
    );
    assert_eq!(code(Some(&yaml("statuses: write"))), Access::None);
    assert_eq!(code(Some(&yaml("contents: write"))), Access::Write);
    assert_eq!(
        token_access(Some(&yaml("contents: write")))["issues"],
        Access::None
    );
    assert_eq!(
        code(Some(&yaml("contents: write\ncode: read"))),
        Access::Read
    );
    assert_eq!(code(Some(&yaml("{}"))), Access::None);
    assert_eq!(code(Some(&yaml("read-all"))), Access::Read);
    assert_eq!(code(Some(&yaml("write-all"))), Access::Write);
    assert_eq!(code(Some(&yaml("anything"))), Access::None);
}

/// Every job that runs gitops-update (or calls the reusable workflow that does) with the
/// job's own token needs code write on Gitea: a push, and a commit status, which Gitea
/// guards with code write (routers/api/v1/api.go `reqRepoWriter(unit.TypeCode)`;
/// routers/private/hook_pre_receive.go). `statuses: write` alone gives none on 1.26+. Up
/// to 1.26 a called workflow runs inside the caller's job with its token; from 1.27 with
/// its own job's permissions (services/actions/reusable_workflow.go): both must say it.
#[test]
fn every_job_that_runs_the_tool_may_push_and_set_statuses_on_gitea_1_26() {
    let mut checked = 0;
    for name in WORKFLOWS {
        let wf = load(name);
        let top = get(&wf, "permissions");
        let Some(Val::Obj(jobs)) = get(&wf, "jobs") else {
            panic!("{name}: no jobs")
        };
        for (job_name, job) in jobs.iter() {
            let commands: Vec<String> = match get(job, "steps") {
                Some(Val::Arr(steps)) => steps
                    .iter()
                    .filter_map(|s| get(s, "run"))
                    .map(text)
                    .collect(),
                _ => Vec::new(),
            };
            let calls_dispatch = get(job, "uses")
                .is_some_and(|u| text(u).contains("/.gitea/workflows/gitops-dispatch.yml@"));
            let runs_tool = calls_dispatch
                || commands.iter().any(|c| {
                    c.lines()
                        .any(|l| l.trim_start().starts_with("gitops-update"))
                });
            if !runs_tool {
                continue;
            }
            let access = token_access(get(job, "permissions").or(top));
            assert_eq!(
                access["code"],
                Access::Write,
                "{name}: job {}: the job token cannot push or set a commit status on Gitea 1.26+ ({access:?})",
                text(job_name)
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} jobs run the tool");
}

/// The `run:` lines of the steps in `wf` that run the tool, with the command each runs.
fn tool_steps(wf: &Val) -> Vec<(String, &'static str)> {
    let Some(Val::Obj(jobs)) = get(wf, "jobs") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for job in jobs.values() {
        let Some(Val::Arr(steps)) = get(job, "steps") else {
            continue;
        };
        for step in steps.iter() {
            let line = get(step, "run").map(text).unwrap_or_default();
            if let Some(command) = tool_command(&line) {
                out.push((line, command));
            }
        }
    }
    out
}

/// Exit 8 (superseded) is no failure: every shipped step that runs a command which can end
/// with it (the exit-code table says which) maps it, and only it, to success, in both shells
/// Gitea's runner gives a step: `bash --noprofile --norc -e -o pipefail` on the host, `sh -e`
/// in a job container (act, pkg/runner/step_run.go `setupShell`, pkg/model/workflow.go
/// `Step.ShellCommand`). A fake `gitops-update` on the PATH ends with each code.
#[test]
fn shipped_steps_take_superseded_for_success_and_fail_on_any_other_code() {
    use gitops_update::error::exit::{SUPERSEDED, TABLE};
    use std::os::unix::fs::PermissionsExt;
    let can_supersede = TABLE.iter().find(|r| r.0 == SUPERSEDED).unwrap().2;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("gitops-update");
    fs::write(&fake, "#!/bin/sh\nexit \"$FAKE_CODE\"\n").unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.path().join("step.sh");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut checked = 0;
    for name in WORKFLOWS {
        for (line, command) in tool_steps(&load(name)) {
            if !can_supersede.contains(&command) {
                continue;
            }
            fs::write(&script, format!("\n{line}\n")).unwrap();
            for shell in [
                &["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"][..],
                &["sh", "-e"][..],
            ] {
                for code in [0, 1, 2, 3, 4, 5, 6, 7, 8] {
                    let status = std::process::Command::new(shell[0])
                        .args(&shell[1..])
                        .arg(&script)
                        .env("PATH", &path)
                        .env("FAKE_CODE", code.to_string())
                        .status()
                        .unwrap();
                    assert_eq!(
                        status.success(),
                        code == 0 || code == 8,
                        "{name}: `{line}` under {shell:?} when the tool exits {code}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} steps checked");
}
