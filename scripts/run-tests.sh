#!/usr/bin/env bash
# Runs the whole suite twice: a plain gcc build and a clang ASan+UBSan build
# (which also runs the libFuzzer targets briefly). Ends with the summary line
# "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1
bash scripts/install-node-deps.sh || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
status=0

setup() { # dir, then meson options
  local dir=$1; shift
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
}

setup build -Dwerror=true || exit 1
CC=clang setup build-asan -Dwerror=true -Dfuzz=true -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug || exit 1

for dir in build build-asan; do
  rm -f "$dir/meson-logs/testlog.json" # a stale log must not stand in for this run
  echo "== $dir: compile"
  if ! meson compile -C "$dir"; then
    echo "compile failed in $dir"
    status=1
    continue
  fi
  echo "== $dir: test"
  meson test -C "$dir" --num-processes "$jobs" --print-errorlogs || status=1
done

python3 scripts/test-summary.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json || status=1
exit $status
