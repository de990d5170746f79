#!/usr/bin/env bash
# Builds ci-image/Dockerfile for real and runs the image, on a machine with no Docker engine
# and no registry: buildah (vfs storage, chroot isolation) builds and runs it, and a base
# image that stands in for node's is bootstrapped with debootstrap from the Debian mirror in
# this machine's apt sources. The Dockerfile's own steps run unmodified; only BASE_IMAGE is
# overridden. Inside the image it runs gitops-update, git and node, then a full update the
# way the workflow does it (a checkout, the workflow's variables, bare `gitops-update`)
# against a repository mounted from the host, and checks the result with git outside.
#
# Needs root. Environment:
#   CI_IMAGE_WORK   where the rootfs and buildah's storage live (default target/ci-image;
#                   a second run reuses the base image)
#   REBUILD_BASE=1  bootstrap the base again even when it exists
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

[ "$(id -u)" = 0 ] || { echo "ci-image/test.sh needs root (debootstrap, buildah's chroot isolation)" >&2; exit 1; }
for tool in buildah debootstrap git; do
  command -v "$tool" >/dev/null || { echo "ci-image/test.sh needs $tool: apt-get install -y buildah debootstrap" >&2; exit 1; }
done
[ -x dist/gitops-update ] || scripts/build-static.sh

work=${CI_IMAGE_WORK:-$repo/target/ci-image}
mkdir -p "$work"
work=$(cd "$work" && pwd)
# A storage of our own: nothing lands in (or is read from) the machine's /var/lib/containers.
bah() { buildah --storage-driver vfs --root "$work/storage" --runroot "$work/run" "$@"; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- The mirror and suite this machine's apt already uses (deb822 or one-line format).
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
mirror=$(
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] || continue
      # One stanza per paragraph: print its URIs when its Suites hold the plain codename.
      awk -v suite="$suite" '
        /^[[:space:]]*$/ { if (uris != "" && has) print uris; uris = ""; has = 0; next }
        /^URIs:/ { uris = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
        END { if (uris != "" && has) print uris }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk -v suite="$suite" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3; if (s == suite) print u }'
  } | grep -m1 -E '^https?://' || true
)
[ -n "$mirror" ] || { echo "no Debian mirror for '$suite' in /etc/apt/sources.list(.d)" >&2; exit 1; }
echo "mirror: $mirror ($suite)"

base=localhost/gitops-ci-base:$suite
image=localhost/gitops-ci:test

# --- The base image: Debian minbase plus Debian's nodejs, standing in for node:*-slim.
t0=$(now)
if [ "${REBUILD_BASE:-0}" = 1 ] || ! bah inspect --type image "$base" >/dev/null 2>&1; then
  rootfs=$work/rootfs
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=nodejs "$suite" "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  bah rmi -f "$base" >/dev/null 2>&1 || true
  ctr=$(bah from scratch)
  mnt=$(bah mount "$ctr")
  cp -a "$rootfs"/. "$mnt"/
  bah umount "$ctr" >/dev/null
  bah config --cmd /bin/bash --label "org.opencontainers.image.description=debootstrap $suite minbase + nodejs" "$ctr"
  bah commit --quiet "$ctr" "$base" >/dev/null
  bah rm "$ctr" >/dev/null
  rm -rf "$rootfs"
  echo "base image $base bootstrapped in $(secs "$t0" "$(now)") s"
else
  echo "base image $base reused (REBUILD_BASE=1 to bootstrap it again)"
fi

# --- Build the Dockerfile as it is, from a context that holds only the binary.
ctx=$(mktemp -d)
host=$(mktemp -d)
ctr=
cleanup() {
  [ -n "$ctr" ] && bah rm "$ctr" >/dev/null 2>&1
  rm -rf "$ctx" "$host"
}
trap cleanup EXIT
cp dist/gitops-update "$ctx/gitops-update"
version=$(dist/gitops-update --version | awk '{print $2}')

bah rmi -f "$image" >/dev/null 2>&1 || true
t1=$(now)
bah bud --isolation chroot --pull-never --layers=false \
  --build-arg BASE_IMAGE="$base" --build-arg VERSION="$version" \
  -f ci-image/Dockerfile -t "$image" "$ctx" > "$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; echo "!! the image did not build (log: $work/build.log)" >&2; exit 1; }
grep -E '^(STEP|gitops-update |git version|GNU bash|v[0-9])' "$work/build.log"
build_secs=$(secs "$t1" "$(now)")

labels=$(bah inspect --type image --format '{{range $k, $v := .OCIv1.Config.Labels}}{{$k}}={{$v}} {{end}}' "$image")
case "$labels" in
  *"org.opencontainers.image.version=$version"*) ;;
  *) echo "!! the image's labels lack the version: $labels" >&2; exit 1 ;;
esac

# --- Run it: the tools, then a full update against a repository mounted from the host.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=seed GIT_AUTHOR_EMAIL=seed@example.com GIT_COMMITTER_NAME=seed GIT_COMMITTER_EMAIL=seed@example.com
git init -q --bare -b main "$host/deploy.git"
git init -q -b main "$host/seed"
mkdir -p "$host/seed/apps/web"
printf '# web service\nimage:\n  repository: registry.example.com/web\n  tag: "1.0.0"  # bumped by CI\n' > "$host/seed/apps/web/values.yaml"
git -C "$host/seed" add -A
git -C "$host/seed" commit -qm seed
git -C "$host/seed" push -q "$host/deploy.git" main
before=$(git -C "$host/deploy.git" rev-parse main)

ctr=$(bah from --pull-never "$image")
inside() { bah run --isolation chroot -v "$host/deploy.git:/srv/deploy.git" "$ctr" -- "$@"; }
echo "inside: $(inside gitops-update --version) | $(inside git --version) | node $(inside node --version)"

# The workflow's shape: actions/checkout (here: git clone), then the step with its env.
inside bash -c '
  set -euo pipefail
  git clone -q file:///srv/deploy.git /work && cd /work
  export INPUT_FILE=apps/web/values.yaml YQ_TPL=".image.tag = \"{{VERSION}}\"" VERSION=2.3.4 \
    SOURCE_REPO=acme/web SOURCE_COMMIT=0123456789abcdef0123456789abcdef01234567 DISPATCH_ID=ci-image-test \
    GITOPS_REPO=file:///srv/deploy.git GITHUB_OUTPUT=/tmp/outputs
  gitops-update
  grep -q "^changed=true$" /tmp/outputs
  git log -1 --format=%s
'

after=$(git -C "$host/deploy.git" rev-parse main)
[ "$after" != "$before" ] || { echo "!! the remote did not move" >&2; exit 1; }
subject=$(git -C "$host/deploy.git" log -1 --format=%s main)
[ "$subject" = "[skip ci] gitops: update version to 2.3.4" ] || { echo "!! unexpected commit: $subject" >&2; exit 1; }
want=$(printf '# web service\nimage:\n  repository: registry.example.com/web\n  tag: "2.3.4"  # bumped by CI')
got=$(git -C "$host/deploy.git" show main:apps/web/values.yaml)
[ "$got" = "$want" ] || { echo "!! unexpected file after the update:" >&2; echo "$got" >&2; exit 1; }
git -C "$host/deploy.git" fsck --strict --no-dangling

# --- Figures: the image over its base (bytes of files in each root), and the build time.
root_bytes() {
  local c m n
  c=$(bah from --pull-never "$1")
  m=$(bah mount "$c")
  n=$(du -sxb "$m" | cut -f1)
  bah umount "$c" >/dev/null
  bah rm "$c" >/dev/null
  echo "$n"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
base_bytes=$(root_bytes "$base")
image_bytes=$(root_bytes "$image")
echo "image: $(mib "$image_bytes"); base: $(mib "$base_bytes"); over the base: $(mib $((image_bytes - base_bytes))), of which the binary is $(mib "$(stat -c %s dist/gitops-update)")"
echo "ci-image test passed: built in $build_secs s, pushed $(git -C "$host/deploy.git" rev-parse --short main) from inside the image"
