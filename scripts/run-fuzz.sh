#!/usr/bin/env bash
# run-fuzz.sh: long libFuzzer runs (`make fuzz`). Builds build-fuzz with
# clang, -Dfuzz=true and ASan+UBSan, then runs every fuzz target for
# ${FUZZ_SECONDS:-300} seconds each.
#
# Each target starts from its checked-in seed corpus (fuzz/corpus/TARGET,
# read-only here) plus a working corpus in build-fuzz/fuzz-work/TARGET that
# persists between runs. Crash reproducers are written to
# build-fuzz/fuzz-artifacts/TARGET/. To keep a finding as a regression test,
# copy the reproducer into fuzz/corpus/TARGET/ (the replay test runs it in
# every build). Exits non-zero if any target crashed, leaked or timed out.
#
# Environment: FUZZ_SECONDS (per target, default 300), FUZZ_JOBS (parallel
# workers per target, default 1), FUZZ_TARGETS (space-separated subset),
# FUZZ_BUILD (build directory, default build-fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."

dir=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-300}
jobs=${FUZZ_JOBS:-1}

if ! command -v clang >/dev/null; then
  echo "run-fuzz: clang is required (libFuzzer)" >&2
  exit 1
fi
if [[ ! -f $dir/build.ninja ]]; then
  CC=clang meson setup "$dir" -Dwerror=true -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug \
    >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi

# Every target that has a source file and a seed corpus.
targets=()
if [[ -n ${FUZZ_TARGETS:-} ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    [[ -d fuzz/corpus/$t ]] && targets+=("$t")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run-fuzz: no fuzz targets found" >&2
  exit 1
fi

meson compile -C "$dir" "${targets[@]/#/fuzz/}" || exit 1

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

status=0
for t in "${targets[@]}"; do
  work=$dir/fuzz-work/$t
  artifacts=$dir/fuzz-artifacts/$t
  mkdir -p "$work" "$artifacts"
  echo "== $t: ${seconds}s"
  # The working corpus comes first: libFuzzer writes new inputs there and
  # only reads the seed corpus.
  parallel=()
  if [[ $jobs -gt 1 ]]; then
    parallel=(-fork="$jobs") # fork mode: one supervisor, $jobs workers
  fi
  if ! "$dir/fuzz/$t" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}" \
      -artifact_prefix="$artifacts/" "$work" "fuzz/corpus/$t"; then
    echo "run-fuzz: $t FAILED (reproducers in $artifacts/)" >&2
    status=1
  fi
done
if [[ $status -eq 0 ]]; then
  echo "run-fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
fi
exit $status
