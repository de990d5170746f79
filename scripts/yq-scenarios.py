#!/usr/bin/env python3
"""Extracts yq's own test scenarios that update a single document, as a yardstick.

    python3 scripts/yq-scenarios.py <yq git dir> [testdata/yq-scenarios]

<yq git dir> is a bare clone (or any git dir) of mikefarah/yq. The script reads
`pkg/yqlib/*_test.go` at HEAD and parses the `expressionScenario` tables: Go composite
literals whose fields are raw (backtick) or interpreted strings, `+` concatenations and
package-level string variables or constants. It then keeps the scenarios that a
single-document `yq '<expr>' sample.yml` call reproduces and that edit the document:

* one input document (a `document`, no `document2`, no `---` inside it);
* no expected error, no environment variables, no extra flags or formats, nothing that
  reads other files, the file name, the clock, the environment or a random order;
* a table that yq's tests run with the default preferences (not the `fixed*` tables,
  which need `--yaml-fix-merge-anchor-to-spec`, nor the security-disabled ones);
* an expression that updates (see UPDATE below);
* exactly one expected result, the whole document: `D0, P[], (<tag>)::<yaml>`.

yq's tests print results with an indent of 4; the CLI prints with 2. The expected YAML is
re-indented the way yq's encoder (go-yaml v3) lays out blocks: a mapping's or sequence's
nesting under a key moves by the indent, a node after `- ` by two columns whatever the
indent. Where yq documents the scenario with the same input, the script checks the
re-indented text against the documentation's output (`doc/operators/*.md`) and reports
any mismatch.

The document is written to the file as a file on disk would hold it: with a final newline
(yq's tests read the string without one; its documentation adds one, as we do).

Output: one JSON file per test file in the output folder, `<test file stem>.json`, with
`found` (all scenarios in the file's tables), `selected`, and the selected scenarios; and
`summary.json` with the yq commit and the per-file counts.
"""
import json
import os
import re
import subprocess
import sys

# Assignment operators (`=`, `|=`, `+=`, `-=`, `*=`, `//=`, with merge flags such as `*+=`,
# `*d=`), del(...), with(...), sort_keys(...) and the merge operator `*` (with its flags) —
# the operators that give back the whole document edited.
UPDATE = re.compile(
    r"(?<![=!<>])(\|=|\+=|-=|\*[+?dcn]*=|//=|=)(?!=)"
    r"|\bdel\(|\bwith\(|\bsort_keys\("
    r"|(?<![\w.*])\s\*[+?dcn]*\s"
)

SKIP_TABLE = re.compile(r"^fixed|Disabled|Security", re.I)
# What a file on its own cannot reproduce: other files, the file's name, the clock, the
# environment, a random order.
OUTSIDE = re.compile(r"\b(load\w*|filename|fi|file_index|now|env|strenv|envsubst|system|shuffle)\b")
SKIP_FILES = {"operator_system_test.go", "operator_load_test.go"}


# --- A tokeniser for the part of Go that these tables use ---------------------------------

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<rune>'(?:[^'\\\n]|\\.)*')
  | (?P<num>[0-9][0-9a-fA-FxX._]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|:=|&&|\|\||[-+*/%&|^<>=!]=?|[{}()\[\],;:.])
    """,
    re.X | re.S,
)

ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           "\\": "\\", "'": "'", '"': '"'}


def unquote(lit):
    """The value of a Go interpreted string literal (UTF-8 source, Go escapes)."""
    body, out, i = lit[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        if e in ESCAPES:
            out += ESCAPES[e].encode()
            i += 2
        elif e == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 2:i + 2 + n], 16)).encode()
            i += 2 + n
        elif e in "01234567":
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            raise ValueError(f"unknown escape \\{e} in {lit}")
    return out.decode()


def tokens(src):
    pos, out = 0, []
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            raise ValueError(f"cannot tokenise at {src[pos:pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "lcomment", "bcomment"):
            continue
        text = m.group()
        if kind == "raw":
            # Go drops carriage returns from raw strings.
            out.append(("str", text[1:-1].replace("\r", "")))
        elif kind == "str":
            out.append(("str", unquote(text)))
        else:
            out.append((kind, text))
    return out


class Unresolved(Exception):
    pass


class Parser:
    def __init__(self, toks, consts):
        self.t, self.i, self.consts = toks, 0, consts

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ("eof", "")

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text):
        tok = self.next()
        if tok[1] != text:
            raise ValueError(f"expected {text!r}, found {tok!r}")

    def skip_balanced(self):
        """Skips one expression up to a `,` or closing bracket at depth 0."""
        depth = 0
        while True:
            kind, text = self.peek()
            if kind == "eof":
                return
            if kind != "op":
                self.i += 1
                continue
            if depth == 0 and text in (",", "}", ")", "]"):
                return
            if text in "{([":
                depth += 1
            elif text in "})]":
                depth -= 1
            self.i += 1

    def value(self):
        """A field's value: a string expression, a []string{...}, a map literal, a bool."""
        kind, text = self.peek()
        if text == "[":
            self.expect("[")
            self.expect("]")
            self.expect("string")
            self.expect("{")
            items, unresolved = [], None
            while self.peek()[1] != "}":
                try:
                    items.append(self.string_expr())
                except Unresolved as e:
                    unresolved = e
                if self.peek()[1] == ",":
                    self.next()
            self.expect("}")
            if unresolved:
                raise unresolved
            return items
        if text == "map":
            start = self.i
            self.skip_balanced()
            toks = self.t[start:self.i]
            # map[string]string{"K": "V", ...}
            body = toks[toks.index(("op", "{")) + 1:-1] if ("op", "{") in toks else []
            pairs, k = {}, 0
            while k + 2 < len(body):
                if body[k][0] == "str" and body[k + 1][1] == ":" and body[k + 2][0] == "str":
                    pairs[body[k][1]] = body[k + 2][1]
                    k += 3
                else:
                    k += 1
            return pairs or {"?": "?"}
        if text in ("true", "false"):
            self.next()
            return text == "true"
        return self.string_expr()

    def string_expr(self):
        parts = []
        while True:
            kind, text = self.next()
            if kind == "str":
                parts.append(text)
            elif kind == "ident" and text in self.consts:
                parts.append(self.consts[text])
            else:
                self.i -= 1
                self.skip_balanced()
                raise Unresolved(text)
            if self.peek()[1] != "+":
                return "".join(parts)
            self.next()

    def scenario(self):
        """One `{field: value, ...}` element."""
        self.expect("{")
        fields = {}
        while self.peek()[1] != "}":
            kind, name = self.next()
            self.expect(":")
            try:
                fields[name] = self.value()
            except Unresolved as e:
                fields.setdefault("_unresolved", []).append(f"{name}: {e}")
            if self.peek()[1] == ",":
                self.next()
        self.expect("}")
        return fields


def package_strings(files):
    """Package-level `var X = <string expr>` and `const X = ...`, resolved in a few passes."""
    pending = {}
    for toks in files:
        depth = 0
        for i, (kind, text) in enumerate(toks):
            if kind == "str":
                continue
            if text in "{([":
                depth += 1
            elif text in "})]":
                depth -= 1
            elif depth == 0 and text in ("var", "const") and toks[i + 1][0] == "ident":
                if i + 2 < len(toks) and toks[i + 2][1] == "=":
                    pending[toks[i + 1][1]] = (toks, i + 3)
    consts = {}
    for _ in range(5):
        for name, (toks, at) in pending.items():
            if name in consts:
                continue
            p = Parser(toks, consts)
            p.i = at
            try:
                kind, _ = p.peek()
                if kind in ("str", "ident"):
                    consts[name] = p.string_expr()
            except (Unresolved, ValueError):
                pass
    return consts


def tables(toks, consts):
    """`var name = []expressionScenario{...}`: yields (name, [fields...])."""
    for i in range(len(toks) - 5):
        if (toks[i][1] == "var" and toks[i + 2][1] == "=" and toks[i + 3][1] == "["
                and toks[i + 4][1] == "]" and toks[i + 5][1] == "expressionScenario"):
            p = Parser(toks, consts)
            p.i = i + 6
            p.expect("{")
            items = []
            while p.peek()[1] != "}":
                items.append(p.scenario())
                if p.peek()[1] == ",":
                    p.next()
            yield toks[i + 1][1], items


# --- From yq's test printer (indent 4) to its CLI printer (indent 2) ----------------------

BLOCK_SCALAR = re.compile(r"(?:^|[\s:-])[|>][0-9+-]*(?:\s+#.*)?$")


def reindent(text, src=4, dst=2):
    lines = text.split("\n")
    out = []
    stack = [(0, 0)]  # (input column, output column) of the open nodes
    block = None  # (parent input column, parent output column, content base in/out)
    for line in lines:
        stripped = line.lstrip(" ")
        col = len(line) - len(stripped)
        if block is not None:
            pin, pout, base = block
            if stripped == "":
                out.append("")
                continue
            if col > pin:
                if base is None:
                    base = (col, pout + max(col - pin - (src - dst), 1))
                    block = (pin, pout, base)
                out.append(" " * (base[1] + col - base[0]) + stripped)
                continue
            block = None
        if stripped == "":
            out.append(line)
            continue
        while len(stack) > 1 and stack[-1][0] > col:
            stack.pop()
        top_in, top_out = stack[-1]
        if col == top_in:
            o = top_out
        else:
            o = top_out + (col - top_in) * dst // src
            stack.append((col, o))
        # Nodes after `- ` start two columns further in, in both layouts.
        rest, cin, cout = stripped, col, o
        while rest.startswith("- ") or rest == "-":
            cin, cout = cin + 2, cout + 2
            stack.append((cin, cout))
            rest = rest[2:]
        out.append(" " * o + stripped)
        if BLOCK_SCALAR.search(stripped) and not stripped.startswith("#"):
            block = (col, o, None)
    return "\n".join(out)


# --- yq's documentation, to check the re-indentation against ------------------------------

DOC_EXAMPLE = re.compile(
    r"## (?P<title>[^\n]*)\n(?:(?!## ).)*?Given a sample\.yml file of:\n```yaml\n(?P<given>.*?)```\n"
    r"then\n```bash\nyq '(?P<expr>(?:[^'\n]|'\\'')*)' sample\.yml\n```\nwill output\n"
    r"```yaml\n(?P<out>.*?)```",
    re.S,
)


def doc_examples(git_dir):
    names = git(git_dir, "ls-tree", "--name-only", "HEAD", "pkg/yqlib/doc/operators/").split()
    found = {}
    for name in names:
        if not name.endswith(".md"):
            continue
        text = git(git_dir, "show", f"HEAD:{name}")
        for m in DOC_EXAMPLE.finditer(text):
            expr = m["expr"].replace("'\\''", "'")
            found.setdefault((expr, m["given"]), m["out"])
    return found


def git(git_dir, *args):
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True, text=True).stdout


RESULT = re.compile(r"^D(?P<doc>\d+), P(?P<path>\[.*?\]), \((?P<tag>[^)]*)\)::", re.S)


def select(table, fields):
    """Why a scenario is left out, or None when it is selected."""
    if "_unresolved" in fields:
        return "unresolved field " + "; ".join(fields["_unresolved"])
    if SKIP_TABLE.search(table):
        return "table needs non-default preferences"
    if not fields.get("document"):
        return "no input document"
    if fields.get("document2"):
        return "two documents"
    if re.search(r"(?m)^(---|\.\.\.)", fields["document"].lstrip("\n")[3:]):
        return "several documents"
    if fields.get("expectedError"):
        return "expects an error"
    if fields.get("environmentVariables") or fields.get("requiresFormat") or fields.get("yqFlags"):
        return "environment, format or flags"
    expr = fields.get("expression", "")
    if not expr:
        return "no expression"
    if OUTSIDE.search(expr):
        return "reads files, the clock, the environment or randomness"
    if not UPDATE.search(expr):
        return "does not update"
    expected = fields.get("expected") or []
    if len(expected) != 1:
        return f"{len(expected)} results"
    m = RESULT.match(expected[0])
    if not m or m["doc"] != "0" or m["path"] != "[]":
        return "result is not the whole document"
    return None


def main():
    git_dir = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else "testdata/yq-scenarios"
    commit = git(git_dir, "rev-parse", "HEAD").strip()
    names = [n for n in git(git_dir, "ls-tree", "--name-only", "HEAD", "pkg/yqlib/").split()
             if n.endswith(".go")]
    sources = {n: tokens(git(git_dir, "show", f"HEAD:{n}")) for n in names}
    consts = package_strings(sources.values())
    docs = doc_examples(git_dir)
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):
        if old.endswith(".json"):
            os.remove(os.path.join(out_dir, old))

    summary, doc_checked, doc_mismatch = {}, 0, []
    for name in sorted(sources):
        base = os.path.basename(name)
        if not base.endswith("_test.go"):
            continue
        found, selected, reasons = 0, [], {}
        for table, items in tables(sources[name], consts):
            for fields in items:
                found += 1
                why = select(table, fields)
                if base in SKIP_FILES:
                    why = "needs file or system operations"
                if why:
                    reasons[why] = reasons.get(why, 0) + 1
                    continue
                expected = fields["expected"][0]
                m = RESULT.match(expected)
                document = fields["document"]
                if not document.endswith("\n"):
                    document += "\n"
                want = reindent(expected[m.end():])
                doc_out = docs.get((fields["expression"], document))
                if doc_out is not None:
                    doc_checked += 1
                    if doc_out != want:
                        doc_mismatch.append((base, fields["expression"], want, doc_out))
                selected.append({
                    "table": table,
                    "description": fields.get("description", ""),
                    "skipDoc": bool(fields.get("skipDoc")),
                    "document": document,
                    "expression": fields["expression"],
                    "tag": m["tag"],
                    "expected": want,
                    "yq_test_expected": expected,
                })
        if found == 0:
            continue
        stem = base[:-len("_test.go")]
        summary[stem] = {"found": found, "selected": len(selected), "left out": reasons}
        if selected:
            with open(os.path.join(out_dir, stem + ".json"), "w", encoding="utf-8") as f:
                json.dump({"source": name, "found": found, "selected": len(selected),
                           "scenarios": selected}, f, indent=1, ensure_ascii=False)
                f.write("\n")
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"yq_commit": commit, "files": summary}, f, indent=1, sort_keys=True)
        f.write("\n")

    total_found = sum(s["found"] for s in summary.values())
    total_sel = sum(s["selected"] for s in summary.values())
    for stem, s in sorted(summary.items()):
        print(f"{stem:36} found {s['found']:4}  selected {s['selected']:4}")
    print(f"{'total':36} found {total_found:4}  selected {total_sel:4}  (yq {commit[:12]})")
    print(f"re-indentation checked against yq's documentation: {doc_checked}, "
          f"{len(doc_mismatch)} differ")
    for base, expr, want, doc_out in doc_mismatch:
        print(f"  {base}: {expr}\n    ours: {want!r}\n    docs: {doc_out!r}")
    return 1 if doc_mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
