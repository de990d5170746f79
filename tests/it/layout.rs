//! The house's floors, held: the modules of `src/` import each other in no circle, nothing
//! imports `commands`, `report` is a sink over the ground floor, and the YAML engine's files
//! are layered. Read from the source text (`crate::x` and, inside `yaml/`, `super::x`), test
//! modules left out, so a new arrow that runs back up fails here with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests, which may import anything.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The names that follow `prefix` in `text`: `crate::` gives `model` for `crate::model::x`.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Top-level module → the top-level modules it names.
fn crate_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut graph = Graph::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let names = names_after(&code(&f), "crate::");
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(names.into_iter().filter(|n| *n != top));
    }
    graph
}

/// A file of `src/yaml` → the files of `src/yaml` it names through `super::`.
fn yaml_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for entry in fs::read_dir(src.join("yaml")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let names = names_after(&code(&path), "super::");
        let deps: Vec<String> = names
            .into_iter()
            .filter(|n| *n != name && n != "mod")
            .collect();
        // `mod.rs` is the folder itself: its `super::` is the crate, not a sibling.
        if name != "mod" {
            graph.entry(name).or_default().extend(deps);
        }
    }
    graph
}

/// A circle in `graph`, if there is one, as the path around it.
fn circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut found = path[i..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if graph.contains_key(next) {
                if let Some(c) = visit(next, graph, path, done) {
                    return Some(c);
                }
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_modules_import_each_other_in_no_circle() {
    let graph = crate_graph(&src());
    assert!(graph.len() > 15, "read only {graph:?}");
    assert_eq!(circle(&graph), None, "a circle between modules of src/");
    let into_commands: Vec<&String> = graph
        .iter()
        .filter(|(m, deps)| *m != "commands" && deps.contains("commands"))
        .map(|(m, _)| m)
        .collect();
    assert!(
        into_commands.is_empty(),
        "{into_commands:?} import commands"
    );
}

#[test]
fn report_is_a_sink_over_the_ground_floor() {
    let graph = crate_graph(&src());
    let ground: BTreeSet<String> = ["model", "json", "error", "chars", "Error", "Result"]
        .map(String::from)
        .into();
    let above: Vec<&String> = graph["report"].difference(&ground).collect();
    assert!(above.is_empty(), "report imports {above:?}");
}

#[test]
fn the_yaml_engine_is_layered() {
    let graph = yaml_graph(&src());
    for layer in ["text", "schema", "load", "verify", "splice", "index"] {
        assert!(graph.contains_key(layer), "no yaml/{layer}.rs: {graph:?}");
    }
    assert_eq!(
        circle(&graph),
        None,
        "a circle between the files of src/yaml"
    );
    for bottom in ["text", "schema", "events", "render"] {
        assert!(
            graph[bottom].is_empty(),
            "yaml/{bottom}.rs imports {:?}",
            graph[bottom]
        );
    }
}

#[test]
fn the_circle_finder_finds_circles() {
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
    }
    g.entry("d".into()).or_default();
    assert_eq!(
        circle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    g.get_mut("c").unwrap().remove("a");
    assert_eq!(circle(&g), None);
}
