#!/usr/bin/env bash
# The concurrency soak: UPDATERS (default 50) gitops-update runs at once against one
# smart-HTTP remote on 127.0.0.1, for three rounds:
#   1. distinct keys: updater i sets apps.svc<i>.tag;
#   2. one key: every updater sets shared.tag, each to its own version;
#   3. a mix: even updaters their own key, odd ones the shared key.
# Then it checks: every updater exited 0, or 8 (superseded: a shared-key updater whose
# version is older than one already written, issue 30); every update that landed is in the
# history (one commit per updater, with its version in the message), a superseded one in
# none; each distinct key holds its value; the shared
# key holds the version of the last commit that set it; linear history; every byte of the
# seed file that no updater touched is still there; every update commit carries its
# provenance note and `gitops-update verify` accepts each, and the notes name no other
# commit (issue 30); `git fsck` clean. It prints each
# round's wall time and the distribution of attempts per updater.
#
#   scripts/soak.sh                     # UPDATERS=50 ROUNDS=3
#   BIN=dist/gitops-update scripts/soak.sh
#   MAX_ATTEMPTS=20 scripts/soak.sh     # passed as --max-attempts; default: the tool's own
#   REMOTE=file scripts/soak.sh         # against a file:// remote instead of smart HTTP
#   PROVENANCE=no scripts/soak.sh       # --no-provenance: the same soak without notes
set -euo pipefail
cd "$(dirname "$0")/.."

UPDATERS=${UPDATERS:-50}
ROUNDS=${ROUNDS:-3}
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked --quiet
  BIN=$PWD/target/release/gitops-update
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
cargo build --locked --quiet --example git-http-server
server_bin=$PWD/target/debug/examples/git-http-server

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$work
export GIT_AUTHOR_NAME=soak GIT_AUTHOR_EMAIL=soak@example.com GIT_COMMITTER_NAME=soak GIT_COMMITTER_EMAIL=soak@example.com
unset GITHUB_OUTPUT GITEA_OUTPUT GITHUB_STEP_SUMMARY GITEA_API_URL GITOPS_REPO || true

# The seed: a values file with a comment and a tag per service, and a shared tag.
bare=$work/srv/acme/deploy.git
mkdir -p "$work/srv/acme"
git init -q --bare -b main "$bare"
git init -q -b main "$work/seed"
{
  echo "# one tag per service; bumped by gitops-update"
  echo "shared:"
  echo "  tag: \"0.0.0\"  # every service's sidecar"
  echo "apps:"
  for i in $(seq 0 $((UPDATERS - 1))); do
    printf '  svc%02d:\n    tag: "0.0.0"\n' "$i"
  done
} > "$work/seed/values.yaml"
git -C "$work/seed" add -A
git -C "$work/seed" commit -qm seed
git -C "$work/seed" push -q "$bare" main

if [ "${REMOTE:-http}" = file ]; then
  url=file://$bare
else
  "$server_bin" "$work/srv" > "$work/port" &
  server=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  url=http://127.0.0.1:$(cat "$work/port")/acme/deploy.git
fi

now() { date +%s.%N; }
failed=0
declare -A want      # key -> version that must be there at the end
declare -A superseded  # version -> 1 when its updater ended superseded (exit 8)
all_attempts=()
expected_commits=0

for round in $(seq 1 "$ROUNDS"); do
  dir=$work/round$round
  mkdir -p "$dir"
  start=$(now)
  pids=()
  for i in $(seq 0 $((UPDATERS - 1))); do
    key=$(printf 'svc%02d' "$i")
    version="$round.0.$i"
    case $round in
      1) expr=".apps.$key.tag = \"{{VERSION}}\"" ;;
      2) expr='.shared.tag = "{{VERSION}}"' ;;
      *) if [ $((i % 2)) = 0 ]; then expr=".apps.$key.tag = \"{{VERSION}}\""; else expr='.shared.tag = "{{VERSION}}"'; fi ;;
    esac
    (
      set +e
      GITEA_TOKEN=t0k3n-s3cr3t-value "$BIN" run --repo "$url" --version "$version" \
        --set "values.yaml=$expr" --output json ${MAX_ATTEMPTS:+--max-attempts "$MAX_ATTEMPTS"} \
        $([ "${PROVENANCE:-yes}" = no ] && echo --no-provenance) \
        > "$dir/$i.out" 2> "$dir/$i.err"
      echo $? > "$dir/$i.code"
    ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  wall=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')

  attempts=()
  for i in $(seq 0 $((UPDATERS - 1))); do
    code=$(cat "$dir/$i.code")
    # A shared-key updater whose version is older than one already written ends superseded
    # (exit 8, issue 30): it writes nothing, and that is not a failure.
    if [ "$code" = 8 ] && { [ "$round" = 2 ] || { [ "$round" = 3 ] && [ $((i % 2)) = 1 ]; }; }; then
      superseded["$round.0.$i"]=1
      continue
    fi
    if [ "$code" != 0 ]; then
      failed=$((failed + 1))
      echo "!! round $round updater $i exited $code: $(tail -n 1 "$dir/$i.err")" >&2
      continue
    fi
    a=$(grep -o '"attempts":[0-9]*' "$dir/$i.out" | cut -d: -f2)
    attempts+=("$a")
    all_attempts+=("$a")
    expected_commits=$((expected_commits + 1))
    key=$(printf 'svc%02d' "$i")
    case $round in
      1) want[apps.$key]="$round.0.$i" ;;
      3) [ $((i % 2)) = 0 ] && want[apps.$key]="$round.0.$i" ;;
    esac
  done
  dist=$(printf '%s\n' "${attempts[@]}" | sort -n | uniq -c | awk '{ printf "%s%d×%d", sep, $1, $2; sep = ", " }')
  max=$(printf '%s\n' "${attempts[@]}" | sort -n | tail -n 1)
  echo "round $round: $UPDATERS updaters in $wall s; attempts per updater (count×attempts): $dist; max $max"
done

# --- The checks. (No pipefail here: `grep -q` and `head` close their pipes early.)
set +o pipefail
problems=()
[ "$failed" = 0 ] || problems+=("$failed updaters failed")
commits=$(git -C "$bare" rev-list --count main)
[ "$commits" = $((expected_commits + 1)) ] || problems+=("$commits commits, expected $((expected_commits + 1)) (the seed and one per update)")
merges=$(git -C "$bare" rev-list --merges --count main)
[ "$merges" = 0 ] || problems+=("$merges merge commits: history is not linear")
# Every update's version is in exactly one commit message.
for round in $(seq 1 "$ROUNDS"); do
  for i in $(seq 0 $((UPDATERS - 1))); do
    n=$(git -C "$bare" log --format=%s main | grep -cx "\[skip ci\] gitops: update version to $round.0.$i" || true)
    expect=1
    [ -n "${superseded[$round.0.$i]:-}" ] && expect=0
    [ "$n" = "$expect" ] || problems+=("version $round.0.$i is in $n commits, expected $expect")
  done
done
final=$(git -C "$bare" show main:values.yaml)
for k in "${!want[@]}"; do
  svc=${k#apps.}
  printf '%s\n' "$final" | grep -qx "  $svc:" || problems+=("$svc is gone")
  got=$(printf '%s\n' "$final" | grep -A1 -x "  $svc:" | tail -n 1)
  [ "$got" = "    tag: \"${want[$k]}\"" ] || problems+=("$k is '$got', expected ${want[$k]}: a lost update")
done
last_shared=$(git -C "$bare" log --format=%s -G'^  tag:.*every service' main | head -n 1 | sed 's/.* to //')
got_shared=$(printf '%s\n' "$final" | sed -n 's/^  tag: "\(.*\)"  # every service.s sidecar$/\1/p')
[ "$got_shared" = "$last_shared" ] || problems+=("shared.tag is $got_shared, the last commit that set it says $last_shared")
# No downgrade: the shared key ends at the newest version the last round wrote to it.
newest=$((UPDATERS - 1))
if [ "$ROUNDS" -ge 3 ] && [ $((newest % 2)) = 0 ]; then newest=$((newest - 1)); fi
[ "$ROUNDS" -lt 2 ] || [ "$got_shared" = "$ROUNDS.0.$newest" ] || problems+=("shared.tag is $got_shared, not the newest $ROUNDS.0.$newest")
head -n 1 <<< "$final" | grep -qx "# one tag per service; bumped by gitops-update" || problems+=("the comment is gone")
if [ "${PROVENANCE:-yes}" != no ]; then
  "$BIN" verify -C "$bare" "main~$expected_commits..main" > "$work/verify" 2>&1 || problems+=("verify: $(grep -Ev '^(verified|unsigned)' "$work/verify" | head -n 3)")
  verified=$(grep -Ec '^(verified|unsigned)' "$work/verify")
  [ "$verified" = "$expected_commits" ] || problems+=("$verified update commits verified, expected $expected_commits")
  notes=$(git -C "$bare" notes --ref refs/notes/gitops-update list | wc -l)
  [ "$notes" = "$expected_commits" ] || problems+=("$notes provenance notes for $expected_commits update commits")
fi
git -C "$bare" fsck --strict --no-dangling 2> "$work/fsck" || problems+=("git fsck: $(cat "$work/fsck")")

dist=$(printf '%s\n' "${all_attempts[@]}" | sort -n | uniq -c | awk '{ printf "%s%d×%d", sep, $1, $2; sep = ", " }')
echo "all rounds: $((UPDATERS * ROUNDS)) updates, $commits commits (with the seed), ${#superseded[@]} superseded by a newer version, attempts (count×attempts): $dist"
if [ ${#problems[@]} -gt 0 ]; then
  printf '!! %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "soak passed: no lost update, linear history,${verified:+ $verified provenance notes verified,} fsck clean"
