#!/usr/bin/env bash
# Figures for `gitops-update dispatch` against the Gitea emulator of the tests: time to
# confirm a version that is already recorded, and time until N consumers dispatching at
# once have all landed, with the number of dispatches it took. One runner that takes a run
# 1 s after it is queued, jobs that start 2 s after that. ROUNDS=3 by default; the table
# shows the median and the range. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} cargo test --locked --quiet --test it bench_dispatch -- --ignored --nocapture 2>&1 |
  grep '^|'
