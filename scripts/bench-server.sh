#!/usr/bin/env bash
# The tesserad benchmark (issue 4, "Performance"), against the reference Node
# service of bench/server/reference/ in the same run. See bench/server/README.md.
#
# Builds tesserad in release mode (its own build directory), starts it on a
# free loopback port with a temporary --dev data directory, creates a user,
# logs in 1000 times (1000 distinct sessions and access tokens), starts the
# reference with the same JWK Set, checks that both accept every token with
# the same answer, then for R rounds runs wrk (-t1 -c32 -d10s by default):
#   /v1/verify with 1 token and with the 1000 tokens in rotation, on both;
#   /v1/verify with the 1000 tokens on a second tesserad (same store) whose
#   verified-token cache is off, for what a first sight costs;
#   /oauth/token refresh chains on tesserad (SQLite).
# Each run records requests/s, p50/p99 latency, the server's CPU time per
# request (utime+stime from /proc/PID/stat around the run) and its peak RSS
# (VmHWM, reset before the run through /proc/PID/clear_refs). Any response
# other than 2xx, or any socket error, fails the run. Idle RSS, and the time
# from exec to the first 200 on /readyz (median of several starts), are
# measured too. Prints a Markdown summary (medians, ratios, targets) and
# keeps the raw output under bench/out/server-DATE/.
#
# Usage: scripts/bench-server.sh [-r ROUNDS] [-d DURATION] [-c CONNECTIONS]
#                                [-n TOKENS] [--record] [--strict] [--tesserad PATH]
#   -n          distinct tokens (logins) for the rotation run (1000)
#   --record    also write the summary to bench/server/RESULTS.md
#   --strict    exit 1 when a target of issue 4 is missed
#   --tesserad  use this binary instead of building build-bench-server
# Only 127.0.0.1 is ever contacted. Every process is stopped by its PID.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3
duration=10s
connections=32
ntokens=1000
sessions=128          # refresh chains per round; must exceed the connections
ready_runs=7
record=0
strict=0
tesserad=""
build_dir=$root/build-bench-server

while (($#)); do
  case $1 in
    -r) rounds=$2; shift 2 ;;
    -d) duration=$2; shift 2 ;;
    -c) connections=$2; shift 2 ;;
    -n) ntokens=$2; shift 2 ;;
    --record) record=1; shift ;;
    --strict) strict=1; shift ;;
    --tesserad) tesserad=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-server: unknown argument $1" >&2; exit 2 ;;
  esac
done
((sessions > connections)) || sessions=$((connections * 4))

for cmd in wrk node npm python3 meson curl; do
  command -v "$cmd" >/dev/null || { echo "bench-server: $cmd not found (make deps)" >&2; exit 1; }
done

tool() { python3 "$root/bench/server/benchtool.py" "$@"; }
log() { echo "bench-server: $*" >&2; }

# ---- build ----

# Warnings are errors here too: some appear only at -O3, which the CI
# builds do not use, so the release build is where they surface.
if [[ -z $tesserad ]]; then
  opts=(-Dbuildtype=release -Db_ndebug=true -Dwerror=true -Dtests=false -Dbench=false -Dserver=true)
  if [[ -f $build_dir/build.ninja ]]; then
    meson configure "$build_dir" "${opts[@]}" >"$build_dir.setup.log" 2>&1
  else
    meson setup "$build_dir" "${opts[@]}" >"$build_dir.setup.log" 2>&1
  fi || { cat "$build_dir.setup.log" >&2; exit 1; }
  meson compile -C "$build_dir" tesserad >"$build_dir.compile.log" 2>&1 || { cat "$build_dir.compile.log" >&2; exit 1; }
  tesserad=$build_dir/server/tesserad
fi
[[ -x $tesserad ]] || { echo "bench-server: no tesserad at $tesserad" >&2; exit 1; }

ref_dir=$root/bench/server/reference
if [[ ! -d $ref_dir/node_modules/express || $ref_dir/package-lock.json -nt $ref_dir/node_modules/.package-lock.json ]]; then
  (cd "$ref_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# ---- processes ----

tmp=$(mktemp -d /tmp/tessera-bench-server.XXXXXX)
out=$root/bench/out/server-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_ready() { # url, pid, logfile
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$1" || true) == 200 ]] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  log "$1 did not become ready; last lines of $3:"
  tail -n 20 "$3" >&2
  exit 1
}

cpu_ticks() { # utime + stime of a process, in clock ticks (all its threads)
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }   # drop "pid (comm) ": the state is then field 1
  # shellcheck disable=SC2086
  set -- $stat
  echo $((${12} + ${13}))
}

status_kb() { # pid, VmRSS|VmHWM
  awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

hz=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
tport=$(free_port)
rport=$(free_port)
turl=http://127.0.0.1:$tport
rurl=http://127.0.0.1:$rport
data=$tmp/data
serve=("$tesserad" serve --dev --data "$data" --listen "127.0.0.1:$tport")
# All the load comes from one loopback address and one account, standing for
# many clients: tesserad's per-address and per-account rate limits on the
# login and token endpoints (issue 3) would otherwise answer 429 after a
# burst of 20. Everything else keeps its default.
export TESSERAD_RATE_IP_BURST=0 TESSERAD_RATE_ACCOUNT_BURST=0

# Start-up: the first start creates the master key and signing keys; the
# later ones are what a restart costs.
log "start-up times"
tool ready --url "$turl/readyz" --runs 1 -- "${serve[@]}" >"$out/ready-first.json"
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$tmp/password"
"$tesserad" user add bench --data "$data" <"$tmp/password" >"$tmp/useradd.log" 2>&1 ||
  { cat "$tmp/useradd.log" >&2; exit 1; }
tool ready --url "$turl/readyz" --runs "$ready_runs" -- "${serve[@]}" >"$out/ready-tesserad.json"

"${serve[@]}" >"$tmp/tesserad.log" 2>&1 &
tpid=$!
pids+=("$tpid")
wait_ready "$turl/readyz" "$tpid" "$tmp/tesserad.log"
sleep 1
tesserad_idle=$(status_kb "$tpid" VmRSS)

log "logging in $ntokens times"
login_tokens() {
  tool login --url "$turl/v1/login" --user bench --password-file "$tmp/password" \
    --count "$ntokens" --parallel 4 --access-out "$tmp/tokens.txt"
  head -n 1 "$tmp/tokens.txt" >"$tmp/one.txt"
  tokens_at=$SECONDS
}
login_tokens
tesserad_setup=$(status_kb "$tpid" VmRSS)

# The reference verifies against the same keys, issuer and audience.
curl -sf "$turl/.well-known/jwks.json" >"$tmp/jwks.json"
read -r issuer audience < <(tool claims --tokens "$tmp/one.txt")
ref_env=(env NODE_ENV=production LISTEN="127.0.0.1:$rport" JWKS_FILE="$tmp/jwks.json"
         ISSUER="$issuer" AUDIENCE="$audience")
tool ready --url "$rurl/readyz" --runs "$ready_runs" -- "${ref_env[@]}" node "$ref_dir/server.js" \
  >"$out/ready-reference.json"
"${ref_env[@]}" node "$ref_dir/server.js" >"$tmp/reference.log" 2>&1 &
rpid=$!
pids+=("$rpid")
wait_ready "$rurl/readyz" "$rpid" "$tmp/reference.log"
sleep 1
reference_idle=$(status_kb "$rpid" VmRSS)

# A second tesserad on the same store with its verified-token cache off
# (same issuer, so the same tokens are valid): what a first sight of each
# token costs, and what the cache buys. Reported, but no target applies.
nport=$(free_port)
nurl=http://127.0.0.1:$nport
TESSERAD_VERIFY_CACHE_ENTRIES=0 TESSERAD_ISSUER=$issuer \
  "$tesserad" serve --dev --data "$data" --listen "127.0.0.1:$nport" >"$tmp/tesserad-nocache.log" 2>&1 &
npid=$!
pids+=("$npid")
wait_ready "$nurl/readyz" "$npid" "$tmp/tesserad-nocache.log"

log "checking that the services accept all $ntokens tokens alike"
tool check --tokens "$tmp/tokens.txt" "$turl/v1/verify" "$rurl/v1/verify" "$nurl/v1/verify" >&2

# ---- load ----

wrk_cmd=(wrk -t1 "-c$connections" "-d$duration" --latency)
wrk_dir=$root/bench/server/wrk

# run_wrk ROUND SERVICE PID SCENARIO URL SCRIPT ARGS...: one measured run,
# appended to results.jsonl; exits on any non-2xx answer or socket error.
run_wrk() {
  local round=$1 service=$2 pid=$3 scenario=$4 url=$5 script=$6
  shift 6
  local file=$out/wrk-$round-$service-$scenario.txt
  { echo 5 >"/proc/$pid/clear_refs"; } 2>/dev/null || log "cannot reset VmHWM of $pid; peak RSS includes set-up"
  local c0 c1
  c0=$(cpu_ticks "$pid")
  "${wrk_cmd[@]}" -s "$wrk_dir/$script" "$url" -- "$@" >"$file" 2>&1 || { cat "$file" >&2; exit 1; }
  c1=$(cpu_ticks "$pid")
  python3 - "$file" "$round" "$service" "$scenario" "$((c1 - c0))" "$hz" "$(status_kb "$pid" VmHWM)" \
    >>"$out/results.jsonl" <<'EOF' || exit 1
import json, sys
path, rnd, service, scenario, ticks, hz, hwm = sys.argv[1:]
line = next((l for l in open(path) if l.startswith("WRK ")), None)
if line is None:
    sys.exit(f"bench-server: no result line in {path}")
r = json.loads(line[4:])
errors = {k: v for k, v in r.items() if k.startswith("err_") and v}
if errors or r["bad"] or r["requests"] == 0:
    sys.exit(f"bench-server: {service} {scenario}: failed requests {errors} bad={r['bad']} "
             f"requests={r['requests']} (see {path})")
if scenario == "refresh" and r["ok"] < r["requests"]:
    sys.exit(f"bench-server: refresh: only {r['ok']} of {r['requests']} answers held a new token")
r.update(kind="wrk", round=int(rnd), service=service, scenario=scenario, hwm_kb=int(hwm),
         cpu_us=int(ticks) / int(hz) * 1e6 / r["requests"])
print(json.dumps(r))
print(f"  {service:16} {scenario:7} {r['rps']:9.0f} req/s  p50 {r['p50_us']/1000:7.2f} ms  "
      f"p99 {r['p99_us']/1000:7.2f} ms  cpu {r['cpu_us']:7.1f} us/req  peak {int(hwm)/1024:6.1f} MB",
      file=sys.stderr)
EOF
}

# A warm-up of each service (the JIT of the reference needs it), checked
# but not recorded.
log "warm-up"
for svc in "tesserad $tpid $turl" "reference $rpid $rurl" "tesserad-nocache $npid $nurl"; do
  read -r name pid url <<<"$svc"
  wrk -t1 "-c$connections" -d3s -s "$wrk_dir/verify-rotate.lua" "$url/v1/verify" -- "$tmp/tokens.txt" \
    >"$out/warmup-$name.txt" 2>&1
  grep -q '^WRK .*"err_status":0,' "$out/warmup-$name.txt" || { cat "$out/warmup-$name.txt" >&2; exit 1; }
done

: >"$out/results.jsonl"
for ((round = 1; round <= rounds; round++)); do
  log "round $round of $rounds"
  # Access tokens live 15 minutes; renew them well before.
  if ((SECONDS - tokens_at > 600)); then login_tokens; fi
  for scenario in one rotate; do
    if [[ $scenario == one ]]; then script=verify-one.lua tok=$tmp/one.txt
    else script=verify-rotate.lua tok=$tmp/tokens.txt; fi
    run_wrk "$round" tesserad "$tpid" "$scenario" "$turl/v1/verify" "$script" "$tok"
    run_wrk "$round" reference "$rpid" "$scenario" "$rurl/v1/verify" "$script" "$tok"
  done
  run_wrk "$round" tesserad-nocache "$npid" rotate "$nurl/v1/verify" verify-rotate.lua "$tmp/tokens.txt"
  tool login --url "$turl/v1/login" --user bench --password-file "$tmp/password" \
    --count "$sessions" --parallel 4 --access-out "$tmp/refresh-access.txt" --refresh-out "$tmp/refresh.txt"
  run_wrk "$round" tesserad "$tpid" refresh "$turl/oauth/token" refresh.lua "$tmp/refresh.txt"
done

# ---- report ----

python3 - "$out" "${wrk_cmd[*]}" "$tesserad_idle" "$tesserad_setup" "$reference_idle" "$ntokens" <<'EOF'
import json, sys
out, wrk, t_idle, t_setup, r_idle, ntokens = sys.argv[1:]
ready = lambda name: json.load(open(f"{out}/ready-{name}.json"))["ready_ms"]
meta = {
    "wrk": wrk,
    "tokens": int(ntokens),
    "services": {
        "tesserad": {"rss_idle_kb": int(t_idle), "rss_setup_kb": int(t_setup),
                     "ready_ms": ready("tesserad"), "first_ready_ms": ready("first")[0]},
        "reference": {"rss_idle_kb": int(r_idle), "ready_ms": ready("reference")},
    },
}
json.dump(meta, open(f"{out}/meta.json", "w"))
EOF

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain 2>/dev/null | head -n 1) ]]; then commit="$commit + uncommitted changes"; fi
{
  echo "# tesserad benchmark results"
  echo
  echo "Measured by \`scripts/bench-server.sh -r $rounds -d $duration -c $connections\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) CPUs, Linux $(uname -r);" \
       "wrk and both services share it; load average (1, 5, 15 min) $load_before before the run," \
       "$(cut -d' ' -f1-3 /proc/loadavg) after"
  echo "- tesserad: release build (\`-Dbuildtype=release -Db_ndebug=true\`) of $commit, $(openssl version | cut -d' ' -f1-2)," \
       "\`tesserad serve --dev\` with its defaults but the login/token rate limits off" \
       "(\`TESSERAD_RATE_IP_BURST=0 TESSERAD_RATE_ACCOUNT_BURST=0\`: one address stands for many clients), SQLite store"
  echo "- reference: bench/server/reference (Express $(node -p "require('$ref_dir/node_modules/express/package.json').version")," \
       "jose $(node -p "require('$ref_dir/node_modules/jose/package.json').version"), cookie-parser), node $(node --version), NODE_ENV=production"
  echo "- wrk: \`${wrk_cmd[*]} -s bench/server/wrk/{verify-one,verify-rotate,refresh}.lua URL -- TOKENS\`;" \
       "$ntokens distinct tokens from $ntokens logins; refresh: $sessions sessions per round, each chained"
  echo
  tool summarize --results "$out/results.jsonl" --meta "$out/meta.json"
} >"$out/RESULTS.md"
cat "$out/RESULTS.md"
# --record keeps the hand-written notes (profiles, findings) that follow the
# marker line in the recorded file, so a new run only replaces the figures.
if ((record)); then
  results=$root/bench/server/RESULTS.md
  marker='<!-- notes below: kept by scripts/bench-server.sh --record -->'
  notes=""
  if [[ -f $results ]] && grep -qF "$marker" "$results"; then
    notes=$(awk -v m="$marker" 'found || $0 == m { found = 1; print }' "$results")
  fi
  cp "$out/RESULTS.md" "$results"
  if [[ -n $notes ]]; then printf '\n%s\n' "$notes" >>"$results"; fi
fi
if ((strict)); then tool summarize --strict --results "$out/results.jsonl" --meta "$out/meta.json" >/dev/null; fi
log "raw output in $out"
