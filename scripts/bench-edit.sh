#!/usr/bin/env bash
# Times a path update (`.image.tag = "9.9.9"`) and a query (`.image.tag`) on generated 1 MB
# and 20 MB Helm values files, side by side in one run, against the physical floor (one bare
# saphyr-parser event pass over the same file: examples/parse-floor.rs), gojq
# (--yaml-input --yaml-output) and Debian's yq (the Python jq wrapper); then a Chart.yaml
# edit end to end next to `--version`. Prints medians, ratios and peak memory as Markdown.
#
#   scripts/bench-edit.sh            # installs gojq, yq, hyperfine and GNU time if missing
#   RUNS=5 SLOW_RUNS=2 scripts/bench-edit.sh
#   SIZES=1mb scripts/bench-edit.sh  # the 1 MB file only (gojq takes minutes per 20 MB run)
#   PEERS=no scripts/bench-edit.sh   # gitops-update and the floor only
#
# Speed is measured here, never in a timed test.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}           # runs per command on the 1 MB file
SLOW_RUNS=${SLOW_RUNS:-3}  # runs per command on the 20 MB file
SIZES=${SIZES:-"1mb 20mb"} # which files to measure
PEERS=${PEERS:-yes}        # also time gojq and yq
work=${BENCH_DIR:-bench-work}
mkdir -p "$work"

need=()
if [ "$PEERS" = yes ]; then
  command -v gojq >/dev/null || need+=(gojq)
  command -v yq >/dev/null || need+=(yq)
fi
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --locked --quiet
cargo build --release --locked --quiet --example parse-floor
bin=$PWD/target/release/gitops-update
floor=$PWD/target/release/examples/parse-floor

# A realistic values file: the image block first, then many services with comments, quoted
# and plain scalars, flow and block collections.
gen() {
  python3 - "$1" "$2" <<'PY'
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
PY
}

expr='.image.tag = "9.9.9"'
query='.image.tag'
# A key added at the end of the root mapping: verified from the sync point before it.
tail_expr='.zzz = "9.9.9"'
# An expression whose paths cannot be known statically (a function of the whole input):
# the whole document is loaded, as before the reach existed.
whole_expr='del(.svc5)'
medians() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join(str(x["median"]) for x in r))' "$1"; }
peak_kb() { # median peak RSS of PEAK_RUNS runs (3, or 1 on the 20 MB file), in KiB
  for _ in $(seq "$PEAK_RUNS"); do /usr/bin/time -f %M "$@" >/dev/null 2>"$work/time.txt" || true; tail -n1 "$work/time.txt"; done | sort -n | sed -n "$(( (PEAK_RUNS + 1) / 2 ))p"
}

# What the process needs before any file (`--version`), and what any edit needs (a
# 4-line Chart.yaml: jq's definitions compiled, the program run): subtracted in the last two
# columns, so that they show what grows with the file.
PEAK_RUNS=3
base_kb=$(peak_kb "$bin" --version)
printf 'apiVersion: v2\nname: app\nversion: 1.0.0  # bumped by CI\nappVersion: "1.0.0"\n' >"$work/Chart.yaml"
chart_kb=$(peak_kb "$bin" eval '.version = "1.2.3"' "$work/Chart.yaml")

echo "| file | command | median | × parse floor | × gitops-update edit | peak memory | peak / file size | (peak − \`--version\`) / file size | (peak − a \`Chart.yaml\` edit) / file size |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for size in $SIZES; do
  f=$work/values-$size.yaml
  case $size in 1mb) gen "$f" 1048576 ;; 20mb) gen "$f" 20971520 ;; *) echo "unknown size $size" >&2; exit 2 ;; esac
  runs=$RUNS warmup=1 PEAK_RUNS=3
  [ "$size" = 20mb ] && runs=$SLOW_RUNS warmup=0 PEAK_RUNS=1
  # name|command words (the file is appended)
  rows=("gitops-update edit|$bin eval $expr"
        "gitops-update query|$bin eval $query"
        "parse floor|$floor"
        "gitops-update edit at the end|$bin eval $tail_expr"
        "gitops-update whole-document edit|$bin eval $whole_expr")
  if [ "$PEERS" = yes ]; then
    rows+=("gojq edit|gojq --yaml-input --yaml-output $expr"
           "yq (Debian) edit|yq -y $expr")
    # Same output check first: every editor must agree on the value it wrote.
    for t in "$bin eval" "gojq --yaml-input --yaml-output" "yq -y"; do
      got=$($t "$expr" "$f" 2>/dev/null | head -c 200000 | grep -m1 -E '^  tag: ' || true)
      case "$got" in *9.9.9*) ;; *) echo "!! $t did not write the tag: $got" >&2; exit 1;; esac
    done
  fi
  cmds=()
  for row in "${rows[@]}"; do
    c=${row#*|}
    case $c in
      *"$expr") cmds+=("${c% "$expr"} '$expr' $f") ;;
      *"$query") cmds+=("${c% "$query"} '$query' $f") ;;
      *"$tail_expr") cmds+=("${c% "$tail_expr"} '$tail_expr' $f") ;;
      *"$whole_expr") cmds+=("${c% "$whole_expr"} '$whole_expr' $f") ;;
      *) cmds+=("$c $f") ;;
    esac
  done
  hyperfine -N --style none --warmup "$warmup" --runs "$runs" --export-json "$work/$size.json" "${cmds[@]}" >/dev/null
  read -r -a times <<<"$(medians "$work/$size.json")"
  bytes=$(stat -c %s "$f")
  for i in "${!rows[@]}"; do
    name=${rows[$i]%%|*}; c=${rows[$i]#*|}
    case $c in
      *"$expr") kb=$(peak_kb ${c% "$expr"} "$expr" "$f") ;;
      *"$query") kb=$(peak_kb ${c% "$query"} "$query" "$f") ;;
      *"$tail_expr") kb=$(peak_kb ${c% "$tail_expr"} "$tail_expr" "$f") ;;
      *"$whole_expr") kb=$(peak_kb ${c% "$whole_expr"} "$whole_expr" "$f") ;;
      *) kb=$(peak_kb $c "$f") ;;
    esac
    python3 -c 'import sys
name,size,t,ours,fl,kb,base,chart,b=sys.argv[1:]; t=float(t); ours=float(ours); fl=float(fl); kb=int(kb); base=int(base); chart=int(chart); b=int(b)
ours_ = name.startswith("gitops-update")
above = f"{max(kb-base,0)*1024/b:.1f}x" if ours_ else "—"
edit = f"{max(kb-chart,0)*1024/b:.1f}x" if ours_ else "—"
print(f"| {size} | {name} | {t*1000:.1f} ms | {t/fl:.2f}x | {t/ours:.2f}x | {kb/1024:.1f} MiB | {kb*1024/b:.1f}x | {above} | {edit} |")' \
      "$name" "$size" "${times[$i]}" "${times[0]}" "${times[2]}" "$kb" "$base_kb" "$chart_kb" "$bytes"
  done
done

# The common case end to end, process start included, warm cache.
hyperfine -N --style none --warmup 20 --runs 300 --export-json "$work/chart.json" \
  "$bin eval '.version = \"1.2.3\"' $work/Chart.yaml" "$bin --version" >/dev/null
python3 - "$work/chart.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(f"\n`Chart.yaml` edit end to end: median {r[0]['median']*1000:.2f} ms; "
      f"`gitops-update --version`: median {r[1]['median']*1000:.2f} ms (300 runs each)")
PY
echo "peak memory: \`--version\` $((base_kb / 1024)).$(( (base_kb % 1024) * 10 / 1024 )) MiB, a \`Chart.yaml\` edit $((chart_kb / 1024)).$(( (chart_kb % 1024) * 10 / 1024 )) MiB"
