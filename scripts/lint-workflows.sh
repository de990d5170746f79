#!/usr/bin/env bash
# Lints every workflow the project ships, shows or generates with the two tools teams run on
# theirs: check-jsonschema against the GitHub Actions workflow schema (Gitea Actions reads
# the same dialect) and zizmor's security audits at its default persona. Zero findings, or a
# finding suppressed inline with its reason. Both come from PyPI into target/lint-venv.
#
#   scripts/lint-workflows.sh [--binary PATH]
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/debug/gitops-update
[ "${1:-}" = --binary ] && binary=$2
binary=$(realpath "$binary")

venv=target/lint-venv
if [ ! -x "$venv/bin/zizmor" ] || [ ! -x "$venv/bin/check-jsonschema" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    check-jsonschema==0.39.0 zizmor==1.32.0
fi
"$venv/bin/check-jsonschema" --version
"$venv/bin/zizmor" --version

# The generator's output, fresh from the binary, beside the committed goldens: a config of
# every kind of deploy reference.
generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
mkdir -p "$generated/record-only" "$generated/deploys"
(cd "$generated/record-only" && "$binary" workflow --write)
cp testdata/workflow/two-deploys.config.yaml "$generated/deploys/.gitops-update.yaml"
(cd "$generated/deploys" && "$binary" workflow --write 2>/dev/null)

files=(
  .gitea/workflows/*.yml
  examples/workflows/*.yaml
  testdata/workflow/*.workflow.yaml
  "$generated"/*/.gitea/workflows/gitops-service.yaml
)
printf 'linting %s\n' "${files[@]}"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${files[@]}"
"$venv/bin/zizmor" --offline --no-progress "${files[@]}"
