#!/usr/bin/env bash
# End-to-end test of deploy/nginx/tessera-auth.conf with a real nginx (the
# Debian package) between a client and a small upstream, and the real
# tesserad behind auth_request:
#   - a valid token passes, and the upstream receives X-Auth-Subject,
#     X-Auth-Scope and X-Auth-Session as tesserad computed them (a client's
#     own X-Auth-* headers are replaced), but no Authorization header;
#   - no token, a malformed or tampered token, a revoked access token
#     (RFC 7009), the token of a session revoked through its refresh token
#     and the token of a logged-out session get 401 with WWW-Authenticate
#     at the client, and the upstream never sees those requests;
#   - the internal verify location cannot be called from outside;
#   - with the documented switch on, the upstream does get Authorization.
# Everything listens on free 127.0.0.1 ports; every process is stopped by its
# PID and the temporary directory removed, whatever happens.
#
# Usage: scripts/nginx-e2e.sh [PATH_TO_TESSERAD]   (default build/server/tesserad)
# Needs: nginx (Debian, with auth_request), node, curl, python3.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tesserad=${1:-${TESSERAD:-$root/build/server/tesserad}}
conf_src=$root/deploy/nginx/tessera-auth.conf
echo_js=$root/tests/proxy/echo-upstream.js
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

for need in "$tesserad" "$nginx_bin"; do
  [[ -x $need ]] || { echo "nginx-e2e: $need not found (scripts/install-deps.sh installs nginx)" >&2; exit 1; }
done
for cmd in node curl python3; do
  command -v "$cmd" >/dev/null || { echo "nginx-e2e: $cmd not found" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/tessera-nginx-e2e.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
count=0
pass() { count=$((count + 1)); echo "ok $count - $1"; }
fail() {
  count=$((count + 1)); failures=$((failures + 1))
  echo "not ok $count - $1"
  shift
  local line
  for line in "$@"; do echo "#   $line"; done
}
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url, seconds: waits for a 200
  local url=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

dump_logs() {
  local f
  for f in "$tmp"/tesserad.log "$tmp"/nginx*/error.log "$tmp"/upstream.err; do
    [[ -f $f ]] || continue
    echo "# --- $f (last 30 lines)"
    tail -n 30 "$f" | sed 's/^/#   /'
  done
}

# ---- processes ----

tport=$(free_port)
uport=$(free_port)
tesserad_url=http://127.0.0.1:$tport

"$tesserad" serve --dev --data "$tmp/data" --listen "127.0.0.1:$tport" >"$tmp/tesserad.log" 2>&1 &
pids+=($!)
if ! wait_http "$tesserad_url/readyz" 60; then
  echo "nginx-e2e: tesserad did not become ready" >&2
  dump_logs
  exit 1
fi

password=e2e-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
if ! printf '%s\n' "$password" | "$tesserad" user add alice --data "$tmp/data" >"$tmp/useradd.log" 2>&1; then
  echo "nginx-e2e: tesserad user add failed" >&2
  cat "$tmp/useradd.log" >&2
  exit 1
fi

node "$echo_js" "$uport" "$tmp/upstream.log" 2>"$tmp/upstream.err" &
pids+=($!)
: >"$tmp/upstream.log"

# Starts an nginx from the shipped file, changed only on its marked lines:
# the two upstream addresses, the listen address and (optionally) the switch.
# Each substitution is checked, so an edit of the shipped file that breaks
# this test's assumptions fails loudly instead of testing something else.
start_nginx() { # name, port, switch (on|off)
  local dir=$tmp/$1 port=$2 switch=$3
  mkdir -p "$dir"
  sed -e "s/server 127\.0\.0\.1:8080;/server 127.0.0.1:$tport;/" \
      -e "s/server 127\.0\.0\.1:3000;/server 127.0.0.1:$uport;/" \
      -e "s/listen 80;/listen 127.0.0.1:$port;/" \
      -e "s/set \$tessera_pass_authorization off;/set \$tessera_pass_authorization $switch;/" \
      "$conf_src" >"$dir/tessera-auth.conf"
  local want
  for want in "server 127.0.0.1:$tport;" "server 127.0.0.1:$uport;" "listen 127.0.0.1:$port;" \
              "set \$tessera_pass_authorization $switch;"; do
    if ! grep -qF "$want" "$dir/tessera-auth.conf"; then
      echo "nginx-e2e: could not set '$want' in $conf_src" >&2
      exit 1
    fi
  done
  # Run as root (CI), the workers would switch to "nobody", which cannot
  # enter the private temporary directory.
  local user_line=""
  if [[ $(id -u) -eq 0 ]]; then user_line="user root root;"; fi
  cat >"$dir/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 128; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/tessera-auth.conf;
}
EOF
  if ! "$nginx_bin" -t -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/test.log" 2>&1; then
    echo "nginx-e2e: nginx -t rejected the configuration" >&2
    cat "$dir/test.log" >&2
    exit 1
  fi
  "$nginx_bin" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" &
  pids+=($!)
  if ! wait_port "$port" 20; then
    echo "nginx-e2e: nginx did not start" >&2
    dump_logs
    exit 1
  fi
}

wait_port() { # port, seconds: waits until something accepts connections
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

nport=$(free_port)
start_nginx nginx "$nport" off
proxy=http://127.0.0.1:$nport
wait_port "$uport" 20 || { echo "nginx-e2e: upstream did not start" >&2; dump_logs; exit 1; }

# ---- helpers for requests ----

# request URL [curl args...]: sets $status, $headers (file), $body (file).
request() {
  local url=$1; shift
  headers=$tmp/last.headers
  body=$tmp/last.body
  status=$(curl -s -o "$body" -D "$headers" -w '%{http_code}' "$@" "$url" || echo 000)
}

header_value() { # file, name: the first value of a response header
  awk -v name="$2" 'BEGIN { name = tolower(name) }
    { sub(/\r$/, "") }
    tolower(substr($0, 1, length(name) + 1)) == name ":" {
      v = substr($0, length(name) + 2); sub(/^[ \t]+/, "", v); print v; exit }' "$1"
}

upstream_values() { # header name: every value the upstream received, one per line
  awk -v p="header $1: " 'index($0, p) == 1 { print substr($0, length(p) + 1) }' "$body"
}

upstream_field() { # method|url|body-length: what the upstream received
  awk -v p="$1 " 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' "$body"
}

login() { # prints "ACCESS REFRESH"
  request "$tesserad_url/v1/login" -H 'Content-Type: application/json' \
    --data "{\"username\":\"alice\",\"password\":\"$password\"}"
  if [[ $status != 200 ]]; then
    echo "nginx-e2e: login answered $status: $(head -c 300 "$body")" >&2
    return 1
  fi
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["access_token"], d["refresh_token"])' "$body"
}

upstream_hits() { wc -l <"$tmp/upstream.log"; }

expect_401_at_client() { # description, then curl args
  local what=$1; shift
  local before
  before=$(upstream_hits)
  request "$proxy/app/resource" "$@"
  local www
  www=$(header_value "$headers" www-authenticate)
  if [[ $status == 401 && $www == Bearer* && $(upstream_hits) == "$before" ]]; then
    pass "$what: 401 with WWW-Authenticate, upstream not called"
  else
    fail "$what: 401 with WWW-Authenticate, upstream not called" \
      "status=$status www-authenticate='$www' upstream hits $before -> $(upstream_hits)"
  fi
}

# ---- the tests ----

read -r access refresh < <(login) || { dump_logs; exit 1; }
[[ -n ${access:-} && -n ${refresh:-} ]] || { echo "nginx-e2e: login gave no tokens" >&2; exit 1; }

# What tesserad itself says about the token, to compare with what the
# upstream receives through nginx.
request "$tesserad_url/v1/verify" -H "Authorization: Bearer $access"
if [[ $status != 200 ]]; then
  fail "tesserad accepts the fresh token directly" "status=$status"
  dump_logs
  exit 1
fi
want_subject=$(header_value "$headers" x-auth-subject)
want_scope=$(header_value "$headers" x-auth-scope)
want_session=$(header_value "$headers" x-auth-session)
check "tesserad's direct answer has a subject and a session" \
  test -n "$want_subject" -a -n "$want_session"

# Negative cases first.
expect_401_at_client "no token"
expect_401_at_client "a malformed Authorization header" -H 'Authorization: Bearer not-a-jwt'

tampered=$(python3 - "$access" <<'EOF'
import sys
head, payload, sig = sys.argv[1].split(".")
i = len(sig) // 2  # a middle character: every one of its bits is significant
sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
print(".".join((head, payload, sig)))
EOF
)
expect_401_at_client "a token with a changed signature" -H "Authorization: Bearer $tampered"

tampered_claims=$(python3 - "$access" <<'EOF'
import base64, json, sys
head, payload, sig = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
claims["sub"] = "someone-else"
enc = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(".".join((head, enc, sig)))
EOF
)
expect_401_at_client "a token with a changed subject" -H "Authorization: Bearer $tampered_claims"

request "$proxy/_tessera_verify" -H "Authorization: Bearer $access"
if [[ $status == 404 ]]; then
  pass "the internal verify location is not reachable from outside"
else
  fail "the internal verify location is not reachable from outside" "status=$status"
fi

# A revoked access token (RFC 7009 on the access token: its jti is denylisted).
read -r revoked_access _ < <(login) || { dump_logs; exit 1; }
request "$tesserad_url/oauth/revoke" \
  --data-urlencode "token=$revoked_access" --data-urlencode "token_type_hint=access_token"
check "tesserad accepts the revocation of an access token" test "$status" = 200
expect_401_at_client "a revoked access token" -H "Authorization: Bearer $revoked_access"

# The access token of a session ended through its refresh token (RFC 7009):
# the token itself is not on the denylist, its session is revoked.
read -r session_access session_refresh < <(login) || { dump_logs; exit 1; }
request "$tesserad_url/oauth/revoke" \
  --data-urlencode "token=$session_refresh" --data-urlencode "token_type_hint=refresh_token"
check "tesserad accepts the revocation of a refresh token" test "$status" = 200
expect_401_at_client "the access token of a revoked session" -H "Authorization: Bearer $session_access"

# The access token of a session ended by logout.
read -r logout_access logout_refresh < <(login) || { dump_logs; exit 1; }
request "$tesserad_url/v1/logout" -X POST -H "Authorization: Bearer $logout_access" \
  -H 'Content-Type: application/json' --data "{\"refresh_token\":\"$logout_refresh\"}"
check "tesserad accepts the logout" test "$status" = 200 -o "$status" = 204
expect_401_at_client "the access token of a logged-out session" -H "Authorization: Bearer $logout_access"

# The valid token passes, with the X-Auth-* headers set by nginx from
# tesserad's answer, even though the client tries to set its own.
before=$(upstream_hits)
request "$proxy/app/resource?x=1" -H "Authorization: Bearer $access" \
  -H 'X-Auth-Subject: root' -H 'X-Auth-Scope: admin' -H 'X-Auth-Session: forged'
if [[ $status == 200 && $(upstream_hits) == $((before + 1)) ]]; then
  pass "a valid token reaches the upstream"
else
  fail "a valid token reaches the upstream" "status=$status body=$(head -c 300 "$body")"
  dump_logs
  exit 1
fi
check "the upstream got the path and query" test "$(upstream_field url)" = "/app/resource?x=1"
check "the upstream got exactly tesserad's X-Auth-Subject" \
  test "$(upstream_values x-auth-subject)" = "$want_subject"
check "the upstream got exactly tesserad's X-Auth-Scope" \
  test "$(upstream_values x-auth-scope)" = "$want_scope"
check "the upstream got exactly tesserad's X-Auth-Session" \
  test "$(upstream_values x-auth-session)" = "$want_session"
check "the upstream did not get the Authorization header" \
  test -z "$(upstream_values authorization)"

# A request with a body: the body goes to the upstream (only the
# verification subrequest goes without it).
request "$proxy/app/form" -H "Authorization: Bearer $access" -H 'Content-Type: application/json' \
  --data '{"hello":"world"}'
check "a POST with a body reaches the upstream whole" \
  test "$status" = 200 -a "$(upstream_field method) $(upstream_field body-length)" = "POST 17"
expect_401_at_client "a POST without a token" -H 'Content-Type: application/json' --data '{"hello":"world"}'

# The refresh token and the other sessions are untouched by the above.
read -r access2 _ < <(login) || { dump_logs; exit 1; }
request "$proxy/" -H "Authorization: Bearer $access2"
check "a second session's token passes too" test "$status" = 200

# With the switch on, the application receives the client's Authorization.
n2port=$(free_port)
start_nginx nginx-pass "$n2port" on
proxy=http://127.0.0.1:$n2port
request "$proxy/app" -H "Authorization: Bearer $access"
check "switch on: a valid token reaches the upstream" test "$status" = 200
check "switch on: the upstream got the Authorization header unchanged" \
  test "$(upstream_values authorization)" = "Bearer $access"
check "switch on: the X-Auth-Subject header is still set" \
  test "$(upstream_values x-auth-subject)" = "$want_subject"
expect_401_at_client "switch on: a revoked token is still refused" -H "Authorization: Bearer $revoked_access"

if ((failures > 0)); then
  dump_logs
  echo "nginx-e2e: $failures of $count checks failed"
  exit 1
fi
echo "nginx-e2e: all $count checks passed"
