#!/usr/bin/env bash
# Times one version bump against a realistic GitOps repository (5,000 commits, 2,000 files)
# served over local smart HTTP, side by side in one run:
#   (a) gitops-update in clone mode
#   (b) the old pipeline: full git clone + yq edit + git commit + git push
#   (c) the tuned shell: git clone --depth 1 + the same
#   (d) the floor: the git CLI doing the minimum (bare depth-1 fetch, hash-object,
#       mktree/commit-tree, push)
# and the landings of issue 14 next to a direct push, all with a commit status through a
# local stand-in for Gitea's API (answering as Gitea does: 201 for a status and a new pull
# request, the head's real tip in `head.sha`):
#   (e) gitops-update, direct push + status
#   (f) gitops-update --pull-request: push to its own branch, POST /pulls, status
#   (g) gitops-update --pull-request=agit: push to refs/for/main with push options, status
# The remote's branch is reset before every run, so each run makes the same change.
#
#   scripts/bench-run.sh          # RUNS=10 by default
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
work=$PWD/${BENCH_DIR:-bench-work}/run
rm -rf "$work" && mkdir -p "$work"

need=()
command -v yq >/dev/null || need+=(yq)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example git-http-server
bin=$PWD/target/release/gitops-update

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$work
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# 2,000 files in 2,000 chart directories, then 4,999 commits touching one file each.
git init -q --bare -b main "$work/srv/acme/bench.git"
# As Gitea configures its repositories (modules/git/git.go): AGit's push options.
git -C "$work/srv/acme/bench.git" config receive.advertisePushOptions true
python3 - "$work" <<'PY' | git -C "$work/srv/acme/bench.git" fast-import --quiet
import sys
def values(i, v):
    return f"# chart {i}\nimage:\n  repository: ghcr.io/acme/app{i}\n  tag: \"{v}\"  # bumped by CI\nreplicas: 2\n"
out = sys.stdout
mark = 0
def blob(data):
    global mark
    mark += 1
    b = data.encode()
    out.write(f"blob\nmark :{mark}\ndata {len(b)}\n"); out.write(data); out.write("\n")
    return mark
t = 1700000000
def commit(msg, files):
    # Consecutive commits to one branch continue from its tip within the stream.
    global t
    t += 60
    m = msg.encode()
    out.write(f"commit refs/heads/main\ncommitter bench <bench@example.com> {t} +0000\ndata {len(m)}\n{msg}\n")
    for path, mk in files:
        out.write(f"M 100644 :{mk} {path}\n")
files = [(f"charts/app{i}/values.yaml", blob(values(i, "1.0.0"))) for i in range(2000)]
commit("seed", files)
for n in range(1, 5000):
    i = n % 2000
    commit(f"bump app{i}", [(f"charts/app{i}/values.yaml", blob(values(i, f"1.0.{n}")))])
PY
git -C "$work/srv/acme/bench.git" gc -q
orig=$(git -C "$work/srv/acme/bench.git" rev-parse main)
echo "repository: $(git -C "$work/srv/acme/bench.git" rev-list --count main) commits, $(git -C "$work/srv/acme/bench.git" ls-tree -r main | wc -l) files, $(du -sh "$work/srv/acme/bench.git" | cut -f1)"

target/release/examples/git-http-server "$work/srv" > "$work/port" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
token=t0k3n-s3cr3t-value
url=http://127.0.0.1:$port/acme/bench.git
curl_url=http://bot:$token@127.0.0.1:$port/acme/bench.git

# The API stand-in: statuses and pull requests, answered from the bench repository itself.
cat > "$work/api.py" <<'PY'
import http.server, json, subprocess, sys
repo = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if "/statuses/" in self.path:
            return self.answer(201, {"id": 1, "state": req.get("state")})
        if self.path.endswith("/pulls"):
            sha = subprocess.run(["git", "-C", repo, "rev-parse", "refs/heads/" + req["head"]],
                                 capture_output=True, text=True).stdout.strip()
            return self.answer(201, {"number": 1, "html_url": "http://gitea.test/acme/bench/pulls/1",
                                     "title": req.get("title"), "body": req.get("body"), "state": "open",
                                     "head": {"ref": req["head"], "sha": sha},
                                     "base": {"ref": req["base"], "sha": ""}})
        self.answer(404, {"message": "not found"})
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$work/api.py" "$work/srv/acme/bench.git" > "$work/api-port" &
api_server=$!
trap 'kill $server $api_server 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$work/api-port" ] && break; sleep 0.1; done
api=http://127.0.0.1:$(cat "$work/api-port")/api/v1
file=charts/app7/values.yaml

cat > "$work/old.sh" <<SH
set -e; rm -rf "$work/w"; git clone -q CLONE_OPTS "$curl_url" "$work/w"; cd "$work/w"
yq -y -i '.image.tag = "9.9.9"' $file
git commit -qam "[skip ci] gitops: update version to 9.9.9"; git push -q origin HEAD:main
SH
sed 's/ CLONE_OPTS//' "$work/old.sh" > "$work/full.sh"
sed 's/CLONE_OPTS/--depth 1 --single-branch/' "$work/old.sh" > "$work/shallow.sh"
cat > "$work/floor.sh" <<SH
set -e; rm -rf "$work/f"; git init -q --bare "$work/f"; cd "$work/f"
git fetch -q --depth 1 "$curl_url" main; tip=\$(git rev-parse FETCH_HEAD)
blob=\$(git cat-file -p \$tip:$file | sed 's/^  tag: .*/  tag: "9.9.9"  # bumped by CI/' | git hash-object -w --stdin)
t3=\$(git ls-tree \$tip:charts/app7 | sed "s/ [0-9a-f]*\tvalues.yaml\\\$/ \$blob\tvalues.yaml/" | git mktree)
t2=\$(git ls-tree \$tip:charts | sed "s/ [0-9a-f]*\tapp7\\\$/ \$t3\tapp7/" | git mktree)
t1=\$(git ls-tree \$tip | sed "s/ [0-9a-f]*\tcharts\\\$/ \$t2\tcharts/" | git mktree)
c=\$(git commit-tree \$t1 -p \$tip -m "[skip ci] gitops: update version to 9.9.9")
git push -q "$curl_url" \$c:refs/heads/main
SH
reset="git -C $work/srv/acme/bench.git update-ref refs/heads/main $orig"
run_args="--repo $url --file $file --expression '.image.tag = \"9.9.9\"' --version 9.9.9"

# Each variant must really push the change before it is timed.
for v in gitops full shallow floor; do
  $reset
  case $v in
    gitops) GITEA_TOKEN=$token $bin run --repo "$url" --file $file --expression '.image.tag = "9.9.9"' --version 9.9.9 >/dev/null 2>&1 ;;
    *) bash "$work/$v.sh" >/dev/null 2>&1 ;;
  esac
  git -C "$work/srv/acme/bench.git" show main:$file | grep -q 'tag: "\?9\.9\.9' || { echo "!! $v did not push the change" >&2; exit 1; }
done

cd "$work"
# The landings push elsewhere: each must really reach its ref first.
for landing in "refs/heads/main:" "refs/heads/gitops-update/main/bench:--pull-request" "refs/for/main:--pull-request=agit"; do
  ref=${landing%%:*} mode=${landing#*:}
  $reset
  GITEA_TOKEN=$token GITEA_API_URL=$api eval "$bin run $run_args $mode" >/dev/null 2>"$work/landing.err" \
    || { echo "!! run $mode failed: $(cat "$work/landing.err")" >&2; exit 1; }
  git -C "$work/srv/acme/bench.git" show "$ref:$file" | grep -q 'tag: "\?9\.9\.9' || { echo "!! nothing landed on $ref" >&2; exit 1; }
done

GITEA_TOKEN=$token hyperfine --style none --runs "$RUNS" --warmup 1 --prepare "$reset" --export-json "$work/run.json" \
  -n "gitops-update" "$bin run --repo $url --file $file --expression '.image.tag = \"9.9.9\"' --version 9.9.9" \
  -n "full clone + yq + commit + push" "bash $work/full.sh" \
  -n "depth-1 clone + yq + commit + push" "bash $work/shallow.sh" \
  -n "git floor (fetch, mktree, commit-tree, push)" "bash $work/floor.sh" \
  -n "gitops-update, push + status (API)" "GITEA_API_URL=$api $bin run $run_args" \
  -n "gitops-update --pull-request (branch, POST /pulls, status)" "GITEA_API_URL=$api $bin run $run_args --pull-request" \
  -n "gitops-update --pull-request=agit (refs/for/main, status)" "GITEA_API_URL=$api $bin run $run_args --pull-request=agit" >/dev/null

python3 - "$work/run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ours = r[0]["median"]
print("| variant | median | vs gitops-update |")
print("| --- | --- | --- |")
for x in r:
    print(f"| {x['command']} | {x['median']*1000:.0f} ms | {x['median']/ours:.2f}x |")
PY
