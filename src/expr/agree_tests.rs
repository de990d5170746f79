//! The yq front end (`template::rewrite`) against jaq on the language both read the same
//! way: random jq expressions from the common subset (identifier paths, indices, slices,
//! literals, pipes, commas, assignments, arithmetic, comparisons, `select`, `map`, `if`,
//! `//`, `del`, collections and a few builtins) are compiled twice, through the front end
//! and straight through jaq with the same definitions, and run on the same documents. Any
//! difference in outputs or in failing is the front end changing a jq program's meaning.
//! Seeded, so a failure names an expression that reproduces it.

use super::*;

/// A small xorshift generator: deterministic, and enough to cover the grammar below.
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn path(&mut self) -> String {
        self.pick(&[
            ".",
            ".a",
            ".a.b",
            ".a.c",
            ".l",
            ".l[0]",
            ".l[-1]",
            ".l[]",
            ".l[1:]",
            ".s",
            ".n",
            ".a[\"b\"]",
            ".a?",
            ".missing.x",
            ".l[5]",
        ])
        .to_string()
    }

    fn literal(&mut self) -> String {
        self.pick(&[
            "1",
            "2.5",
            "\"x\"",
            "\"1.2.3\"",
            "null",
            "true",
            "false",
            "[]",
            "{}",
            "-3",
        ])
        .to_string()
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 {
            return match self.below(2) {
                0 => self.path(),
                _ => self.literal(),
            };
        }
        let d = depth - 1;
        match self.below(16) {
            0 => format!("{} | {}", self.expr(d), self.expr(d)),
            1 => format!("{}, {}", self.expr(d), self.expr(d)),
            2 => format!("{} = {}", self.path(), self.expr(d)),
            3 => format!("{} |= {}", self.path(), self.expr(d)),
            4 => format!(
                "{} {} {}",
                self.expr(d),
                self.pick(&["+", "-", "*", "/", "%"]),
                self.expr(d)
            ),
            5 => format!(
                "{} {} {}",
                self.expr(d),
                self.pick(&["==", "!=", "<", ">=", "and", "or"]),
                self.expr(d)
            ),
            6 => format!("select({})", self.expr(d)),
            7 => format!("[{}]", self.expr(d)),
            8 => format!("{{x: {}, \"y\": {}}}", self.expr(d), self.expr(d)),
            9 => format!(
                "if {} then {} else {} end",
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            10 => format!("{} // {}", self.expr(d), self.expr(d)),
            11 => format!("del({})", self.path()),
            12 => format!(
                "({}) | {}",
                self.expr(d),
                self.pick(&[
                    "length",
                    "keys",
                    "type",
                    "tostring",
                    "not",
                    "to_entries",
                    "add",
                    "reverse",
                    "tojson"
                ])
            ),
            13 => format!("map({})", self.expr(d)),
            14 => format!("{} += {}", self.path(), self.literal()),
            _ => format!("reduce .l[] as $v (0; . + $v) | {}", self.expr(d)),
        }
    }
}

const DOCS: &[&str] = &[
    r#"{"a":{"b":1,"c":"x"},"l":[1,2,3],"s":"str","n":null}"#,
    r#"{"a":{"b":[true,false],"c":2.5},"l":[],"s":"","n":0}"#,
    r#"[1,"two",{"a":null}]"#,
];

/// Outputs (up to 5) or the fact of failing, from either compilation.
fn outcome(filter: Option<&Filter>, globals: &[Val], doc: &str) -> String {
    let Some(filter) = filter else {
        return "does not compile".into();
    };
    let input = jaq_json::read::parse_single(doc.as_bytes()).expect("a test document");
    match run_filter(filter, globals, input, 0, false, 5) {
        Ok(outs) => outs
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => "fails".into(),
    }
}

#[test]
fn the_front_end_keeps_the_meaning_of_jq_programs_on_the_common_subset() {
    let b = Bindings {
        args: Vec::new(),
        env: Default::default(),
        policy: EnvPolicy::DenySecrets,
        placeholders: Placeholders::Args,
    };
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let mut compared = 0;
    for _ in 0..600 {
        let code = g.expr(3);
        let Ok(program) = Program::compile(&code, &b) else {
            // The front end refused it; jaq must refuse it too.
            assert!(
                compile_code(&code, &program_names(&b)).is_err(),
                "the front end refuses `{code}`, which jaq compiles"
            );
            continue;
        };
        let raw = compile_code(&code, &program.names).ok();
        for doc in DOCS {
            let front = outcome(Some(&program.filter), &program.globals, doc);
            let jq = outcome(raw.as_ref(), &program.globals, doc);
            assert_eq!(front, jq, "`{code}` on {doc}: front end vs jaq");
            compared += 1;
        }
    }
    assert!(compared > 1000, "only {compared} comparisons ran");
}

/// The global names a program compiled with `b` declares.
fn program_names(b: &Bindings) -> Vec<String> {
    globals("", b, Vec::new(), Vec::new()).0
}
