#!/usr/bin/env bash
# Runs one libFuzzer target as a test: creates the scratch corpus directory
# libFuzzer writes new inputs into (so the seed corpus in the tree is only
# read), then runs the target with the given arguments.
# Usage: run-target.sh TARGET SCRATCH_DIR [libFuzzer args...]
set -euo pipefail
target=$1 scratch=$2
shift 2
mkdir -p "$scratch"
exec "$target" "$@"
