#!/usr/bin/env bash
# The empty-root proof: copies only the static binary (and /etc/hosts) into an empty
# directory, chroots into it, and runs a full update against a smart-HTTP remote on
# 127.0.0.1, then checks the result with the git CLI outside. Needs root (chroot).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "the empty-root proof needs root for chroot" >&2; exit 1; }
[ -x dist/gitops-update ] || scripts/build-static.sh
# A debug build: `cargo test` has built it already, and its speed does not matter here.
cargo build --locked --quiet --example git-http-server

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$work
export GIT_AUTHOR_NAME=proof GIT_AUTHOR_EMAIL=proof@example.com GIT_COMMITTER_NAME=proof GIT_COMMITTER_EMAIL=proof@example.com

mkdir -p "$work/srv/acme"
git init -q --bare -b main "$work/srv/acme/deploy.git"
git init -q -b main "$work/seed"
printf 'image:\n  tag: "1.0.0"  # bumped by CI\n' > "$work/seed/values.yaml"
git -C "$work/seed" add -A
git -C "$work/seed" commit -qm seed
git -C "$work/seed" push -q "$work/srv/acme/deploy.git" main

target/debug/examples/git-http-server "$work/srv" > "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

root=$work/root
mkdir -p "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
cp dist/gitops-update "$root/gitops-update"
cp /etc/hosts "$root/etc/hosts"
echo "the root holds: $(cd "$root" && find . -mindepth 1 | sort | tr '\n' ' ')"

# env -i: nothing from this environment reaches the binary (so chroot needs its full path).
env -i GITEA_TOKEN=t0k3n-s3cr3t-value "$(command -v chroot)" "$root" /gitops-update run \
  --repo "http://127.0.0.1:$port/acme/deploy.git" --version 1.2.3 \
  --set 'values.yaml=.image.tag = "{{VERSION}}"'

got=$(git -C "$work/srv/acme/deploy.git" show main:values.yaml)
want=$(printf 'image:\n  tag: "1.2.3"  # bumped by CI')
[ "$got" = "$want" ] || { echo "!! unexpected file after the update: $got" >&2; exit 1; }
subject=$(git -C "$work/srv/acme/deploy.git" log -1 --format=%s main)
[ "$subject" = "[skip ci] gitops: update version to 1.2.3" ] || { echo "!! unexpected commit: $subject" >&2; exit 1; }
git -C "$work/srv/acme/deploy.git" fsck --strict --no-dangling
echo "empty-root proof: pushed $(git -C "$work/srv/acme/deploy.git" rev-parse --short main) from a root that holds only the binary and /etc/hosts"
