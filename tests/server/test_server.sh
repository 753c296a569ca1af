#!/usr/bin/env bash
# Runs the tesserad integration tests (node's built-in test runner) against
# the binary given as $1. Each test file starts its own servers on free
# loopback ports with temporary data directories and stops them by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export TESSERAD=${1:?usage: test_server.sh PATH/TO/tesserad}
export JOSE_DIR="$here/../interop/node_modules/jose"
exec node --test --test-concurrency=1 "$here"/*.test.mjs
