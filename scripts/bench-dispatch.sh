#!/usr/bin/env bash
# Figures for `gitops-update dispatch` against the Gitea emulator of the tests, on every
# server of the matrix: the time to confirm a version that is already recorded, to report a
# failing run, and for five consumers of one GitOps repo, one after another and all at once
# (with the dispatches that took). One runner that takes a run 1 s after it is queued, jobs
# that start 2 s after that, consumers polling every 5 s (the default). ROUNDS=3 by default;
# the table shows the median and, where the rounds differed, the range. SERVERS=1.24,Forgejo
# measures only those. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} SERVERS=${SERVERS:-} cargo test --locked --quiet --test it bench_dispatch -- --ignored --nocapture 2>&1 |
  grep '^|'
