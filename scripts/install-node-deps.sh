#!/usr/bin/env bash
# Installs the npm packages the interoperability tests use (node's `jose`),
# exactly as pinned by tests/interop/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../tests/interop"
[[ -f package.json ]] || exit 0
if [[ -d node_modules/jose ]] && [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
