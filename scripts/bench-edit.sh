#!/usr/bin/env bash
# Times one `.image.tag` assignment on generated 1 MB and 20 MB Helm values files, side by
# side in one run, against gojq (--yaml-input --yaml-output) and Debian's yq (the Python jq
# wrapper), and reports medians, ratios and peak memory as a Markdown table.
#
#   scripts/bench-edit.sh            # installs gojq, yq, hyperfine and GNU time if missing
#   RUNS=5 SLOW_RUNS=2 scripts/bench-edit.sh
#   SIZES=1mb scripts/bench-edit.sh  # the 1 MB file only (gojq takes minutes per 20 MB run)
#
# Speed is measured here, never in a timed test.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}           # runs per command on the 1 MB file
SLOW_RUNS=${SLOW_RUNS:-3}  # runs per command on the 20 MB file
SIZES=${SIZES:-"1mb 20mb"} # which files to measure
work=${BENCH_DIR:-bench-work}
mkdir -p "$work"

need=()
command -v gojq >/dev/null || need+=(gojq)
command -v yq >/dev/null || need+=(yq)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --locked --quiet
bin=$PWD/target/release/gitops-update

# A realistic values file: the image block first, then many services with comments, quoted
# and plain scalars, flow and block collections.
gen() {
  python3 - "$1" "$2" <<'EOF'
import sys
path, size = sys.argv[1], int(sys.argv[2])
parts = ['## generated values\nimage:\n  repository: ghcr.io/acme/app\n  tag: "1.0.0"  # bumped by CI\n\n']
n, i = len(parts[0]), 0
while n < size:
    s = (f"svc{i}:\n  enabled: true   # service {i}\n  replicas: {i % 7}\n"
         f"  image: {{repository: ghcr.io/acme/svc{i}, tag: 'v{i}.0.1'}}\n"
         f"  ports: [80, 443]\n  env:\n    - name: KEY_{i}\n      value: \"value-{i}\"\n\n")
    parts.append(s); n += len(s); i += 1
open(path, "w").write("".join(parts))
EOF
}
gen "$work/values-1mb.yaml" 1048576
gen "$work/values-20mb.yaml" 20971520

expr='.image.tag = "9.9.9"'
median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join(str(x["median"]) for x in r))' "$1"; }
peak_kb() { # median peak RSS of 3 runs, in KiB
  for _ in 1 2 3; do /usr/bin/time -f %M "$@" >/dev/null 2>"$work/time.txt" || true; tail -n1 "$work/time.txt"; done | sort -n | sed -n 2p
}

echo "| file | tool | median | vs gitops-update | peak memory | peak / file size |"
echo "| --- | --- | --- | --- | --- | --- |"
for size in $SIZES; do
  f=$work/values-$size.yaml
  runs=$RUNS; [ "$size" = 20mb ] && runs=$SLOW_RUNS
  # Same output check first: all three must agree on the value they wrote.
  for t in "$bin eval" "gojq --yaml-input --yaml-output" "yq -y"; do
    got=$($t "$expr" "$f" 2>/dev/null | head -c 200000 | grep -m1 -E '^  tag: ' || true)
    case "$got" in *9.9.9*) ;; *) echo "!! $t did not write the tag: $got" >&2; exit 1;; esac
  done
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/$size.json" \
    "$bin eval '$expr' $f" \
    "gojq --yaml-input --yaml-output '$expr' $f" \
    "yq -y '$expr' $f" >/dev/null
  read -r ours gojq yq <<<"$(median "$work/$size.json")"
  bytes=$(stat -c %s "$f")
  for row in "gitops-update:$ours:$bin eval" "gojq:$gojq:gojq --yaml-input --yaml-output" "yq (Debian):$yq:yq -y"; do
    name=${row%%:*}; rest=${row#*:}; t=${rest%%:*}; cmd=${rest#*:}
    kb=$(peak_kb $cmd "$expr" "$f")
    python3 -c 'import sys
name,size,t,ours,kb,b=sys.argv[1:]; t=float(t); ours=float(ours); kb=int(kb); b=int(b)
print(f"| {size} | {name} | {t*1000:.1f} ms | {t/ours:.1f}x | {kb/1024:.1f} MiB | {kb*1024/b:.1f}x |")' \
      "$name" "$size" "$t" "$ours" "$kb" "$bytes"
  done
done

hyperfine -N --style none --warmup 20 --runs 300 --export-json "$work/version.json" "$bin --version" >/dev/null
python3 - "$work/version.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"\n`gitops-update --version`: median {r['median']*1000:.2f} ms over {len(r['times'])} runs")
PY
