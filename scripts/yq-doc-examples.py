#!/usr/bin/env python3
"""Runs the update examples of yq's operator documentation through gitops-update.

    python3 scripts/yq-doc-examples.py <yq checkout>/pkg/yqlib/doc/operators target/debug/gitops-update

yq's documentation is generated from its tests: each example gives a sample.yml, a command
and the output. An example counts when its command is exactly `yq '<expr>' sample.yml`
(no flags, no environment) and the expression updates (an assignment operator or del).
For each, the output of `gitops-update eval '<expr>'` is compared with yq's: `same bytes`,
`same data` (the values agree, the text differs: quoting, key order, comments), `differs`,
or `error` (refused or not supported). Nothing of yq's is copied into this repository: the
script reads a checkout that you fetch.
"""
import os
import re
import subprocess
import sys

EXAMPLE = re.compile(
    r"Given a sample\.yml file of:\n```yaml\n(?P<given>.*?)```\nthen\n```bash\n"
    r"yq '(?P<expr>[^'\n]*)' sample\.yml\n```\nwill output\n```yaml\n(?P<out>.*?)```",
    re.S,
)
UPDATE = re.compile(r"(?<![=!<>])(\|=|\+=|-=|\*=|//=|=)(?!=)|\bdel\(")
NORMALISE = (
    "walk(if type == \"object\" then to_entries | sort_by(.key | tostring) | from_entries"
    " else . end) | tojson"
)


def run(binary, args, stdin):
    p = subprocess.run(
        [binary, *args], input=stdin.encode(), capture_output=True, timeout=20,
        env={"PATH": os.environ.get("PATH", "")},
    )
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def data(binary, text):
    rc, out, _ = run(binary, ["eval", NORMALISE], text)
    return out if rc == 0 else None


def main():
    docs, binary = sys.argv[1], sys.argv[2]
    counts = {"same bytes": 0, "same data": 0, "differs": 0, "error": 0}
    rows = []
    for name in sorted(os.listdir(docs)):
        if not name.endswith(".md"):
            continue
        text = open(os.path.join(docs, name), encoding="utf-8").read()
        for m in EXAMPLE.finditer(text):
            expr = m["expr"]
            if not UPDATE.search(expr):
                continue
            rc, out, err = run(binary, ["eval", expr], m["given"])
            if rc != 0:
                verdict = "error"
                why = err.strip().splitlines()[0] if err.strip() else f"exit {rc}"
            elif out == m["out"]:
                verdict, why = "same bytes", ""
            elif data(binary, out) is not None and data(binary, out) == data(binary, m["out"]):
                verdict, why = "same data", ""
            else:
                verdict, why = "differs", out.strip().replace("\n", "\\n")[:100]
            counts[verdict] += 1
            rows.append((name, expr, verdict, why))
    for name, expr, verdict, why in rows:
        if verdict in ("differs", "error"):
            print(f"{verdict:10} {name}: {expr}  -- {why}")
    total = sum(counts.values())
    agree = counts["same bytes"] + counts["same data"]
    print(f"\n{total} update examples: {agree} agree ({counts['same bytes']} byte for byte, "
          f"{counts['same data']} same data), {counts['differs']} differ, {counts['error']} errors")


if __name__ == "__main__":
    main()
