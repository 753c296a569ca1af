#!/usr/bin/env bash
# The throughput benchmark of issue 2 ("Performance"); `make bench` runs it.
# See bench/README.md for what is measured and why it is measured this way.
#
#   scripts/run-bench.sh [--floor-modes | --instructions]
#
# Steps: a release build with the bench programs; per algorithm a key and a
# fixed set of distinct tokens (bench/gen_tokens); then REPS rounds in which
# the floor, floor+jansson, libjwt and `tessera verify --batch` each verify the
# same token file; then the two-thread scaling test (bench/threads) and the
# peak RSS of a batch run at two token counts. Every run must print `ok` for
# every token, or the benchmark fails. The report (markdown) goes to stdout
# and to $BENCH_BUILD/RESULTS.md.
#
# --floor-modes only compares the floor's HMAC and public-key code paths
# (which one is fastest decides the floor's defaults, see floor_core.c).
# --instructions only counts instructions per token with callgrind (floor,
# floor+jansson, tessera): exact, and immune to the machine's load.
#
# Knobs (environment): N tokens per asymmetric alg (20000), HS_FACTOR (10: the
# HMAC algorithms get N*HS_FACTOR tokens so a run lasts long enough to time),
# REPS (5), ALGS ("HS256 RS256 ES256 EdDSA"), THREAD_ALGS (= ALGS),
# MEM_COUNTS ("10000 100000"), BENCH_BUILD (build-bench), CPU (a CPU number
# to pin single-thread runs to with taskset; empty = no pinning), CG_TOKENS
# (200: tokens per callgrind run with --instructions).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-20000}
HS_FACTOR=${HS_FACTOR:-10}
REPS=${REPS:-5}
ALGS=${ALGS:-"HS256 RS256 ES256 EdDSA"}
THREAD_ALGS=${THREAD_ALGS:-$ALGS}
MEM_COUNTS=${MEM_COUNTS:-"10000 100000"}
BENCH_BUILD=${BENCH_BUILD:-build-bench}
CPU=${CPU:-}
ISS=https://auth.bench.tessera.example
AUD=https://api.bench.tessera.example

die() { echo "run-bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- build
build() {
  local opts=(-Dbuildtype=release -Db_ndebug=true -Dbench=true -Dtests=false -Dserver=false)
  if [[ -f $BENCH_BUILD/build.ninja ]]; then
    meson configure "$BENCH_BUILD" "${opts[@]}" >/dev/null
  else
    meson setup "$BENCH_BUILD" "${opts[@]}" >/dev/null
  fi
  meson compile -C "$BENCH_BUILD" >/dev/null || die "build failed (meson compile -C $BENCH_BUILD)"
}

B=$BENCH_BUILD/bench
TESSERA=$BENCH_BUILD/cli/tessera
DATA=$BENCH_BUILD/bench-data
pin=()
[[ -n $CPU ]] && pin=(taskset -c "$CPU")

count_for() { # alg -> number of tokens
  if [[ $1 == HS* ]]; then echo $((N * HS_FACTOR)); else echo "$N"; fi
}

# Key and tokens per alg; kept between runs (same N -> same file).
make_tokens() { # alg
  local alg=$1 n
  n=$(count_for "$alg")
  local tok=$DATA/$alg.$n.tokens
  if [[ ! -s $tok || ! -s $DATA/$alg.pub.jwk ]]; then
    if [[ ! -s $DATA/$alg.key.jwk ]]; then
      "$B/gen_tokens" --alg "$alg" --count "$n" --key-out "$DATA/$alg.key.jwk" \
        --pub-out "$DATA/$alg.pub.jwk" >"$tok.tmp" || die "gen_tokens $alg failed"
    else
      "$B/gen_tokens" --alg "$alg" --count "$n" --key "$DATA/$alg.key.jwk" >"$tok.tmp" \
        || die "gen_tokens $alg failed"
    fi
    mv "$tok.tmp" "$tok"
  fi
  echo "$tok"
}

# ---------------------------------------------------------------- timing
# Wall and CPU (user+sys) microseconds of "$@" with stdin from $IN and stdout
# to $OUT, as "wall cpu". Bash's `time` keyword costs no extra process. CPU
# time matters on a shared machine: it excludes the time the program spent
# waiting for a core while other work ran.
IN=/dev/null
OUT=/dev/null
times_us() {
  local rc=0 TIMEFORMAT='%3R %3U %3S'
  { time "$@" <"$IN" >"$OUT" 2>"$DATA/cmd.err"; } 2>"$DATA/time.txt" || rc=$?
  [[ $rc == 0 ]] || { cat "$DATA/cmd.err" >&2; die "exit $rc: $*"; }
  awk '{ printf "%d %d\n", $1 * 1e6, ($2 + $3) * 1e6 }' "$DATA/time.txt"
}

# Every line of $1 must be exactly "ok" and there must be $2 of them.
check_all_ok() { # file count what
  local got bad
  read -r got bad < <(awk '$0 != "ok" { bad++ } END { print NR, bad + 0 }' "$1")
  if [[ $got != "$2" || $bad != 0 ]]; then
    echo "run-bench: $3: $got lines for $2 tokens, $bad not ok; first of them:" >&2
    grep -v -x -m 5 ok "$1" >&2 || true
    die "$3 rejected valid tokens: a benchmark of rejections is worthless"
  fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Tokens/s of one tool over one token file, as "wall-rate cpu-rate": the
# time of the whole batch command minus that of the same command on empty
# input (process start, key load, verifier build), so that a few
# milliseconds of startup do not distort the fast HMAC runs. The output is
# checked every time.
measure() { # name count tokfile cmd...
  local name=$1 n=$2 tok=$3; shift 3
  local full empty
  IN=$tok OUT=$DATA/out.txt
  full=$(times_us "${pin[@]}" "$@")
  check_all_ok "$DATA/out.txt" "$n" "$name"
  IN=/dev/null OUT=/dev/null
  empty=$(times_us "${pin[@]}" "$@")
  awk -v n="$n" -v f="$full" -v e="$empty" 'BEGIN {
    split(f, F, " "); split(e, E, " ")
    w = F[1] - E[1]; if (w <= 0) w = F[1]
    c = F[2] - E[2]; if (c <= 0) c = F[2]
    printf "%.1f %.1f\n", n / (w / 1e6), n / (c / 1e6) }'
}

tool_cmd() { # tool alg pubkey -> prints nothing; sets CMD array
  local tool=$1 alg=$2 key=$3
  case $tool in
    floor) CMD=("$B/floor" --key "$key" --alg "$alg") ;;
    floor+jansson) CMD=("$B/floor" --key "$key" --alg "$alg" --jansson) ;;
    libjwt) CMD=("$B/libjwt_verify" --key "$key" --alg "$alg") ;;
    tessera) CMD=("$TESSERA" verify --key "$key" --alg "$alg" --iss "$ISS" --aud "$AUD" --batch) ;;
    floor:*) CMD=("$B/floor" --key "$key" --alg "$alg" --mode "${tool#floor:}") ;;
  esac
}

# Is the tool able to run this alg at all? libjwt 1.10 has no EdDSA or PS*
# and a floor mode may not apply to a family: those are "n/a". The floor and
# tessera themselves must always start.
applicable() { # tool alg key
  tool_cmd "$@"
  local rc=0
  "${CMD[@]}" </dev/null >/dev/null 2>"$DATA/err.txt" || rc=$?
  [[ $rc == 0 ]] && return 0
  [[ $1 == libjwt || $1 == floor:* ]] && return 1
  cat "$DATA/err.txt" >&2
  die "$1 cannot start for $2 (exit $rc): ${CMD[*]}"
}

target_for() {
  case $1 in
    HS256) echo ">= 0.40" ;; RS256) echo ">= 0.90" ;; ES256) echo ">= 0.97" ;; EdDSA) echo "> 1.00" ;;
    *) echo "-" ;;
  esac
}

meets() { # ratio target
  local op=${2%% *} val=${2##* }
  [[ $2 == - ]] && { echo "-"; return; }
  awk -v r="$1" -v v="$val" -v op="$op" 'BEGIN { ok = (op == ">=") ? (r >= v) : (r > v); print ok ? "yes" : "**no**" }'
}

# A verifier that says `ok` to everything would make a fine-looking floor:
# before timing anything, each tool must reject the first token with one
# payload character changed and with one signature character changed.
sanity() { # alg tokfile
  local alg=$1 t h rest p s
  t=$(head -n 1 "$2"); h=${t%%.*}; rest=${t#*.}; p=${rest%%.*}; s=${rest#*.}
  local p2 s2
  p2=${p:0:10}$([[ ${p:10:1} == A ]] && echo B || echo A)${p:11}
  s2=${s:0:5}$([[ ${s:5:1} == A ]] && echo B || echo A)${s:6}
  printf '%s\n' "$h.$p2.$s" "$h.$p.$s2" >"$DATA/tampered.tokens"
  for tool in floor floor+jansson libjwt tessera; do
    tool_cmd "$tool" "$alg" "$DATA/$alg.pub.jwk"
    if [[ $tool == libjwt ]] && ! applicable "$tool" "$alg" "$DATA/$alg.pub.jwk"; then continue; fi
    if "${CMD[@]}" <"$DATA/tampered.tokens" 2>/dev/null | grep -q -x ok; then
      die "$tool accepted a tampered $alg token: its numbers would be meaningless"
    fi
  done
}

# ---------------------------------------------------------------- throughput
# One row per alg. Tools run interleaved inside each round, so slow drift in
# the machine's load hits them alike; the ratio is the median of the
# per-round tessera/floor ratios.
throughput() { # tools...
  local tools=("$@") alg
  for alg in $ALGS; do
    local tok n key
    tok=$(make_tokens "$alg")
    n=$(count_for "$alg")
    key=$DATA/$alg.pub.jwk
    sanity "$alg" "$tok"
    local r t
    for ((r = 1; r <= REPS; r++)); do
      for t in "${tools[@]}"; do
        applicable "$t" "$alg" "$key" || { echo "$alg $t n/a n/a $r" >>"$DATA/rates.txt"; continue; }
        local v
        v=$(measure "$t $alg" "$n" "$tok" "${CMD[@]}")
        echo "$alg $t $v $r" >>"$DATA/rates.txt"
      done
    done
  done
}

# One table from rates.txt ("alg tool wall cpu round" lines). Column 3 is
# the wall-time rate, 4 the CPU-time rate. The ratio is the median of the
# per-round tessera/floor ratios.
rate_table() { # column tools...
  local col=$1; shift
  local tools=("$@") alg t
  printf '| alg | tokens |'
  for t in "${tools[@]}"; do printf ' %s tok/s |' "$t"; done
  printf ' tessera/floor | target | met |\n|---|---|'
  for _ in "${tools[@]}"; do printf -- '---|'; done
  printf -- '---|---|---|\n'
  for alg in $ALGS; do
    printf '| %s | %s |' "$alg" "$(count_for "$alg")"
    for t in "${tools[@]}"; do
      local v
      v=$(awk -v a="$alg" -v t="$t" -v c="$col" '$1 == a && $2 == t { print $c }' "$DATA/rates.txt")
      if [[ -z $v || $v == n/a* ]]; then printf ' n/a |'; else printf ' %.0f |' "$(median <<<"$v")"; fi
    done
    local ratio target
    ratio=$(awk -v a="$alg" -v c="$col" '$1 == a && $2 == "floor" { f[$5] = $c }
      $1 == a && $2 == "tessera" { te[$5] = $c }
      END { for (r in f) if (r in te) printf "%.4f\n", te[r] / f[r] }' "$DATA/rates.txt" | median)
    target=$(target_for "$alg")
    if [[ -n $ratio && $ratio != 0 ]]; then
      printf ' %.3f | %s | %s |\n' "$ratio" "$target" "$(meets "$ratio" "$target")"
    else
      printf ' - | - | - |\n'
    fi
  done
}

# ---------------------------------------------------------------- threads
threads_test() {
  echo "| alg | impl | 1 thread tok/s | 2 threads tok/s | 2T/1T wall | target | met |" \
    "CPU ns/token 1T | CPU ns/token 2T | CPU 1T/2T | lock sleeps/thread (2T) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for alg in $THREAD_ALGS; do
    local tok out
    tok=$(make_tokens "$alg")
    for impl in tessera floor; do
      local extra=()
      [[ $impl == floor ]] && extra=(--floor)
      out=$("$B/threads" --key "$DATA/$alg.pub.jwk" --alg "$alg" --tokens "$tok" --iss "$ISS" \
        --aud "$AUD" --threads 1,2 --reps "$REPS" "${extra[@]}") || die "threads $alg $impl failed"
      local t1 t2 ratio target c1 c2 cratio sw
      t1=$(awk '$1 == "threads" && $4 == "T=1" { print $5 }' <<<"$out")
      t2=$(awk '$1 == "threads" && $4 == "T=2" { print $5 }' <<<"$out")
      c1=$(awk '$1 == "cpu" && $4 == "T=1" { print $5 }' <<<"$out")
      c2=$(awk '$1 == "cpu" && $4 == "T=2" { print $5 }' <<<"$out")
      sw=$(awk '$1 == "cpu" && $4 == "T=2" { print $6 }' <<<"$out")
      ratio=$(awk '$1 == "ratio" { print $5 }' <<<"$out")
      cratio=$(awk '$1 == "cpuratio" { print $5 }' <<<"$out")
      target="-"
      [[ $impl == tessera ]] && target=">= 1.9"
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$alg" "$impl" "$t1" "$t2" \
        "$ratio" "$target" "$(meets "$ratio" "$target")" "$c1" "$c2" "$cratio" "$sw"
    done
  done
}

# ---------------------------------------------------------------- memory
# Peak RSS (kB, from /usr/bin/time or python's getrusage) of one batch run.
peak_rss_kb() { # tokfile cmd...
  local tok=$1; shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%M' -o "$DATA/rss.txt" "$@" <"$tok" >"$DATA/out.txt"
    cat "$DATA/rss.txt"
  else
    python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdin=open(sys.argv[1]), stdout=open(sys.argv[1] + ".out", "w"), check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$tok" "$@"
    mv "$tok.out" "$DATA/out.txt"
  fi
}

memory_test() {
  local alg=HS256 max=0 key=$DATA/HS256.pub.jwk
  for c in $MEM_COUNTS; do if ((c > max)); then max=$c; fi; done
  local src
  src=$(make_tokens "$alg")
  if ((max > $(count_for "$alg"))); then
    src=$DATA/$alg.$max.tokens
    if [[ ! -s $src ]]; then
      "$B/gen_tokens" --alg "$alg" --count "$max" --key "$DATA/$alg.key.jwk" >"$src.tmp" \
        || die "gen_tokens failed"
      mv "$src.tmp" "$src"
    fi
  fi
  echo "| tokens | tessera verify --batch peak RSS (kB) | floor peak RSS (kB) |"
  echo "|---|---|---|"
  for c in $MEM_COUNTS; do
    head -n "$c" "$src" >"$DATA/mem.tokens"
    tool_cmd tessera "$alg" "$key"
    local te fl
    te=$(peak_rss_kb "$DATA/mem.tokens" "${CMD[@]}")
    check_all_ok "$DATA/out.txt" "$c" "tessera (memory run)"
    tool_cmd floor "$alg" "$key"
    fl=$(peak_rss_kb "$DATA/mem.tokens" "${CMD[@]}")
    check_all_ok "$DATA/out.txt" "$c" "floor (memory run)"
    echo "| $c | $te | $fl |"
  done
}

# ---------------------------------------------------------------- instructions
# Instructions per token under callgrind (exact and immune to the machine's
# load; not the same as time, since instructions differ in cost): the count
# over the first CG_TOKENS tokens minus the count on empty input.
CG_TOKENS=${CG_TOKENS:-200}
instr_per_token() { # tokfile n cmd...
  local tok=$1 n=$2; shift 2
  local full empty
  valgrind --tool=callgrind --callgrind-out-file="$DATA/cg.full" "$@" <"$tok" >"$DATA/out.txt" 2>/dev/null
  check_all_ok "$DATA/out.txt" "$n" "$1 (callgrind)"
  valgrind --tool=callgrind --callgrind-out-file="$DATA/cg.empty" "$@" </dev/null >/dev/null 2>/dev/null
  full=$(awk '/^summary:/ { print $2 }' "$DATA/cg.full")
  empty=$(awk '/^summary:/ { print $2 }' "$DATA/cg.empty")
  echo $(((full - empty) / n))
}

instructions() {
  command -v valgrind >/dev/null || die "valgrind missing"
  echo "| alg | floor instr/token | floor+jansson instr/token | tessera instr/token | tessera/floor (by instructions) |"
  echo "|---|---|---|---|---|"
  for alg in $ALGS; do
    local tok key f fj te
    tok=$(make_tokens "$alg")
    key=$DATA/$alg.pub.jwk
    head -n "$CG_TOKENS" "$tok" >"$DATA/cg.tokens"
    tool_cmd floor "$alg" "$key"
    f=$(instr_per_token "$DATA/cg.tokens" "$CG_TOKENS" "${CMD[@]}")
    tool_cmd floor+jansson "$alg" "$key"
    fj=$(instr_per_token "$DATA/cg.tokens" "$CG_TOKENS" "${CMD[@]}")
    tool_cmd tessera "$alg" "$key"
    te=$(instr_per_token "$DATA/cg.tokens" "$CG_TOKENS" "${CMD[@]}")
    printf '| %s | %s | %s | %s | %s |\n' "$alg" "$f" "$fj" "$te" \
      "$(awk -v a="$f" -v b="$te" 'BEGIN { printf "%.3f", a / b }')"
  done
}

# ---------------------------------------------------------------- report
machine() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores;" \
    "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(openssl version 2>/dev/null || echo 'openssl CLI missing'); libcrypto $(pkg-config --modversion libcrypto)," \
    "libsodium $(pkg-config --modversion libsodium), jansson $(pkg-config --modversion jansson)," \
    "libjwt $(pkg-config --modversion libjwt 2>/dev/null || echo missing)"
  echo "- compiler: $(cc --version | head -n 1); build: meson release (-O3), b_ndebug=true"
  echo "- settings: N=$N HS_FACTOR=$HS_FACTOR REPS=$REPS ALGS=\"$ALGS\" CPU=${CPU:-unpinned}"
}

main() {
  command -v meson >/dev/null || die "meson missing (make deps)"
  build
  mkdir -p "$DATA"
  for alg in $ALGS; do make_tokens "$alg" >/dev/null; done
  if [[ ${1:-} == --instructions ]]; then
    instructions
    return
  fi
  if [[ ${1:-} == --floor-modes ]]; then
    # HMAC modes for HS*, public-key modes for the rest; irrelevant ones are n/a.
    local modes=(floor floor:dup floor:reinit floor:manual floor:digestverify floor:pkeyverify)
    : >"$DATA/rates.txt"
    throughput "${modes[@]}"
    echo "By wall time:"; rate_table 3 "${modes[@]}"
    echo "By CPU time:"; rate_table 4 "${modes[@]}"
    return
  fi
  {
    echo "## Run"
    machine
    echo
    local tools=(floor floor+jansson libjwt tessera)
    : >"$DATA/rates.txt"
    throughput "${tools[@]}"
    echo "## Single-thread throughput by wall time (median of $REPS rounds)"
    echo
    rate_table 3 "${tools[@]}"
    echo
    echo "## Single-thread throughput by CPU time (user+sys; same runs)"
    echo
    echo "N / CPU seconds: what each program does per second of a core it has to itself. On a"
    echo "loaded machine this is the robust comparison; wall time also measures the load."
    echo
    rate_table 4 "${tools[@]}"
    echo
    echo "## Two threads sharing one verifier (median of $REPS runs each)"
    echo
    echo "1 and 2 threads alternate round by round; ratios are medians of per-round ratios."
    echo "Wall-clock scaling needs two idle cores; the floor rows are the control for what this"
    echo "machine gave at the time. CPU 1T/2T = CPU time per token with one thread over that with"
    echo "two (1.00: no contention); lock sleeps = voluntary context switches per thread."
    echo
    threads_test
    echo
    echo "## Peak memory of a batch run (HS256)"
    echo
    memory_test
  } | tee "$BENCH_BUILD/RESULTS.md"
}

main "$@"
