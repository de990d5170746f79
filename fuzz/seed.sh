#!/usr/bin/env bash
# Seeds the fuzz corpora from testdata/: every YAML file for the splice target (behind two
# selector bytes), every golden expression for the template target (with a version after
# NUL). cargo-fuzz grows the corpora from there; `cargo +nightly fuzz cmin` keeps them small.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/splice fuzz/corpus/template fuzz/corpus/structure fuzz/corpus/yaml11
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  { printf '\x03\x05'; cat "$f"; } > "fuzz/corpus/splice/seed-$n"
  { printf "\\x$(printf %02x $((n % 12)))\\x03\\x05"; cat "$f"; } > "fuzz/corpus/structure/seed-$n"
  # yaml11: a selector, the file, NUL, a value where bytes 1, 2, 3 stand for U+2028, U+2029, U+0085.
  { printf '\x03'; cat "$f"; printf '\0a\x01b: c\x02d\x03'; } > "fuzz/corpus/yaml11/seed-$n"
done < <(find testdata -name '*.yaml' -print0 | sort -z)
m=0
while IFS= read -r -d '' f; do
  m=$((m + 1))
  { cat "$f"; printf '\0%s' '1.2.3") | .x = ("'; } > "fuzz/corpus/template/seed-$m"
done < <(find testdata -name expr -print0 | sort -z)
echo "seeded $n splice, structure and yaml11 inputs and $m template inputs"
