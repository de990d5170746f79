#!/usr/bin/env bash
# The cost of provenance per update (issue 30), side by side in one run. One update of a
# 200-file GitOps repository over local smart HTTP:
#   (a) --no-provenance
#   (b) with its note, unsigned
#   (c) with its note, signed by an ed25519 key (which signs the commit too)
# first against a notes ref with no notes yet, then against one holding NOTES earlier notes
# (default 2,000) of the size the tool writes. Then the bytes each run adds to the server's
# repository, and the bytes a depth-1 fetch of the branch and of the notes carries.
#
#   scripts/bench-provenance.sh            # RUNS=10 NOTES=2000
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
NOTES=${NOTES:-2000}
work=$PWD/${BENCH_DIR:-bench-work}/provenance
rm -rf "$work" && mkdir -p "$work"

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example git-http-server
bin=$PWD/target/release/gitops-update

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$work
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# 200 charts, and a notes commit of NOTES notes of random base64 (as incompressible as the
# envelope's payload), each under a two-digit fan-out directory as the tool writes them.
bare=$work/srv/acme/bench.git
git init -q --bare -b main "$bare"
python3 - "$NOTES" <<'PY' | git -C "$bare" fast-import --quiet
import base64, os, sys
notes = int(sys.argv[1])
out = sys.stdout
def inline(path, data):
    out.write(f"M 100644 inline {path}\ndata {len(data)}\n{data}\n")
out.write("commit refs/heads/main\ncommitter bench <bench@example.com> 1700000000 +0000\ndata 5\nseed\n")
for i in range(200):
    inline(f"charts/app{i}/values.yaml",
           f"# chart {i}\nimage:\n  repository: ghcr.io/acme/app{i}\n  tag: \"1.0.0\"  # bumped by CI\nreplicas: 2\n")
if notes:
    out.write("commit refs/notes/prefilled\ncommitter bench <bench@example.com> 1700000000 +0000\ndata 6\nnotes\n")
    for _ in range(notes):
        sha = os.urandom(20).hex()
        body = base64.b64encode(os.urandom(1300)).decode()
        inline(f"{sha[:2]}/{sha[2:]}", '{"payload":"' + body + '","payloadType":"application/vnd.in-toto+json","signatures":[]}\n')
PY
git -C "$bare" gc -q
orig=$(git -C "$bare" rev-parse main)
prefilled=$(git -C "$bare" rev-parse -q --verify refs/notes/prefilled || true)

target/release/examples/git-http-server "$work/srv" > "$work/port" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$work/port")/acme/bench.git
export GITEA_TOKEN=t0k3n-s3cr3t-value

ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/key"
key=$(cat "$work/key")
file=charts/app7/values.yaml
update="$bin run --repo $url --file $file --expression '.image.tag = \"9.9.9\"' --version 9.9.9"
reset_empty="git -C $bare update-ref refs/heads/main $orig && (git -C $bare update-ref -d refs/notes/gitops-update || true)"
reset_full="git -C $bare update-ref refs/heads/main $orig && git -C $bare update-ref refs/notes/gitops-update $prefilled"

# Each variant must really land, with a note where one is asked for, before it is timed.
for v in "--no-provenance:0" ":1" "signed:1"; do
  flags=${v%%:*} want=${v#*:}
  eval "$reset_empty"
  if [ "$flags" = signed ]; then
    GITOPS_SIGNING_KEY=$key eval "$update" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  else
    eval "$update $flags" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  fi
  git -C "$bare" show "main:$file" | grep -q 'tag: "9.9.9"' || { echo "!! $v did not land" >&2; exit 1; }
  have=$( (git -C "$bare" notes --ref gitops-update list main 2>/dev/null || true) | wc -l)
  [ "$have" = "$want" ] || { echo "!! $v: $have notes on the commit, expected $want" >&2; exit 1; }
done

for notes in empty full; do
  [ "$notes" = full ] && [ -z "$prefilled" ] && continue
  reset=$reset_empty
  [ "$notes" = full ] && reset=$reset_full
  GITOPS_SIGNING_KEY=$key hyperfine --style none --runs "$RUNS" --warmup 1 --prepare "$reset" \
    --export-json "$work/$notes.json" \
    -n "no provenance" "env -u GITOPS_SIGNING_KEY $update --no-provenance" \
    -n "note, unsigned" "env -u GITOPS_SIGNING_KEY $update" \
    -n "note, signed (ed25519, commit signed too)" "$update" \
    -n "no provenance, commit signed" "$update --no-provenance" >/dev/null
done

# Bytes: what each update's pushes carry (the objects the new branch tip and the new notes
# tip reach that the old ones do not, packed), with NOTES notes already there; and what a
# depth-1 fetch of the branch and of the notes carries (the objects one commit reaches).
packed() { git -C "$bare" rev-list --objects --no-object-names "$@" | git -C "$bare" pack-objects --stdout -q | wc -c; }
pushed() { # command → bytes its pushes carried
  eval "$reset_full" 2>/dev/null || eval "$reset_empty"
  eval "$@" >/dev/null 2>&1
  branch=$(packed main "^$orig")
  notes=0
  if git -C "$bare" rev-parse -q --verify refs/notes/gitops-update >/dev/null; then
    notes=$(packed refs/notes/gitops-update ${prefilled:+"^$prefilled"})
  fi
  echo $((branch + notes))
}
bytes_none=$(pushed "$update --no-provenance")
bytes_note=$(pushed "$update")
bytes_signed=$(GITOPS_SIGNING_KEY=$key pushed "$update")
fetch_branch=$(packed --no-walk main)
fetch_notes=$([ -n "$prefilled" ] && packed --no-walk "$prefilled" || echo 0)

python3 - "$work" "$NOTES" "$bytes_none" "$bytes_note" "$bytes_signed" "$fetch_branch" "$fetch_notes" <<'PY'
import json, os, sys
work, notes = sys.argv[1], int(sys.argv[2])
none, note, signed, branch, notes_fetch = map(int, sys.argv[3:])
print("| variant | notes already there | median | vs no provenance |")
print("| --- | --- | --- | --- |")
for name, label in [("empty", "0"), ("full", f"{notes:,}")]:
    path = os.path.join(work, name + ".json")
    if not os.path.exists(path):
        continue
    r = json.load(open(path))["results"]
    base = r[0]["median"]
    for x in r:
        print(f"| {x['command']} | {label} | {x['median']*1000:.0f} ms | {x['median']/base:.2f}x |")
print()
print("| bytes | no provenance | note, unsigned | note, signed |")
print("| --- | --- | --- | --- |")
print(f"| pushed per update (commit and note, with {notes:,} notes there) | {none:,} | {note:,} | {signed:,} |")
print()
print(f"A depth-1 fetch of the branch carries {branch:,} bytes; of the notes ref with {notes:,} notes, {notes_fetch:,} bytes ({notes_fetch / max(notes, 1):,.0f} per note).")
PY
