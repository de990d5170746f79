//! One exit-code table (`error::exit::TABLE`): the README's "Exit codes" section and every
//! `--help` show exactly it, and each command's help lists only the codes it can end with.

use std::path::Path;

use gitops_update::error::exit::TABLE;

use crate::common::{bin, run};

fn readme_rows() -> Vec<(u8, String, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = text
        .split("\n## Exit codes\n")
        .nth(1)
        .expect("a README section named Exit codes");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| code") && !l.starts_with("| ---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 3, "{l}");
            (
                cells[0].parse().unwrap(),
                cells[1].to_string(),
                cells[2].to_string(),
            )
        })
        .collect()
}

#[test]
fn the_readme_shows_the_table() {
    let want: Vec<(u8, String, String)> = TABLE
        .iter()
        .map(|(c, m, cmds)| (*c, m.to_string(), cmds.join(", ")))
        .collect();
    assert_eq!(readme_rows(), want);
    let codes: Vec<u8> = TABLE.iter().map(|r| r.0).collect();
    assert_eq!(codes, (0..=9).collect::<Vec<u8>>(), "every code, in order");
}

#[test]
fn every_help_shows_the_codes_its_command_can_end_with() {
    for (args, command) in [
        (vec!["--help"], None),
        (vec!["run", "--help"], Some("run")),
        (vec!["dispatch", "--help"], Some("dispatch")),
        (vec!["eval", "--help"], Some("eval")),
        (vec!["workflow", "--help"], Some("workflow")),
    ] {
        let r = run(bin().args(&args));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let shown: Vec<String> = r
            .stdout
            .split("Exit codes:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{args:?}: no exit codes in\n{}", r.stdout))
            .lines()
            .take_while(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect();
        let want: Vec<String> = TABLE
            .iter()
            .filter(|(_, _, cmds)| command.is_none_or(|c| cmds.contains(&c)))
            .map(|(c, m, _)| format!("  {c}  {m}"))
            .collect();
        assert_eq!(shown, want, "{args:?}");
    }
}
