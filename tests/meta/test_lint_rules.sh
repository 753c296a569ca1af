#!/usr/bin/env bash
# test_lint_rules.sh: scripts/lint.sh catches each rule it claims to, and
# honours its exemptions, on a scratch source tree (so the linter itself
# cannot silently pass everything).
set -uo pipefail
lint=${1:?usage: test_lint_rules.sh path/to/lint.sh}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect NAME WANT_STATUS WANT_VIOLATIONS: runs lint on $tmp.
expect() {
  local name=$1 want=$2 count=$3 out status
  out=$(bash "$lint" "$tmp" 2>&1)
  status=$?
  local got
  got=$(grep -c '^[a-z]*/.*:[0-9]*: ' <<<"$out")
  if [[ $status -ne $want || $got -ne $count ]]; then
    echo "FAIL $name: status $status (want $want), $got violation(s) (want $count)"
    echo "$out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

reset() { rm -rf "$tmp"/*; mkdir -p "$tmp/lib" "$tmp/cli" "$tmp/server"; }

reset
cat >"$tmp/lib/good.c" <<'C'
/* Prose may say sprintf( or printf( in a comment. */
#include <openssl/crypto.h>
static int f(char *b, size_t n) { return snprintf(b, n, "%d", 1); }
static long g(const char *s) { return strtol(s, NULL, 10); }
static void h(FILE *f, char *b) { (void)fgets(b, 4, f); vsnprintf(b, 4, "x", ap); }
static int tsr__rand_ok(void) { return srand_like(); }
C
cp "$tmp/lib/good.c" "$tmp/cli/good.c"
echo '#include <openssl/evp.h>' >"$tmp/lib/crypto_ossl.c"
expect "clean tree passes" 0 0

for bad in 'sprintf(b, "%d", 1);' 'strcpy(a, b);' 'strcat(a, b);' 'x = atoi(s);' \
           'x = rand();' 'gets(b);' 'vsprintf(b, f, ap);' 'x = atoi (s);'; do
  reset
  printf 'void f(void) { %s }\n' "$bad" >"$tmp/cli/bad.c"
  expect "cli: $bad" 1 1
  reset
  printf 'void f(void) { %s }\n' "$bad" >"$tmp/server/bad.c"
  expect "server: $bad" 1 1
done

for bad in 'printf("x");' 'fprintf(stderr, "x");' 'puts("x");' 'perror("x");' 'fputs("x", f);'; do
  reset
  printf 'void f(void) { %s }\n' "$bad" >"$tmp/lib/bad.c"
  expect "lib prints: $bad" 1 1
  reset
  printf 'void f(void) { %s }\n' "$bad" >"$tmp/cli/ok.c"
  expect "cli may print: $bad" 0 0
done

reset
printf '#include <openssl/evp.h>\n#include <openssl/crypto.h>\n# include <openssl/rsa.h>\n' >"$tmp/lib/key.c"
expect "OpenSSL outside crypto_ossl.c" 1 2
printf '#include <openssl/evp.h>\n' >"$tmp/lib/crypto_ossl.c"
printf '#include <openssl/crypto.h>\n' >"$tmp/lib/key.c"
expect "OpenSSL in crypto_ossl.c and crypto.h elsewhere" 0 0
printf '#include <openssl/crypto.h>\n#include <openssl/x509.h>\n' >"$tmp/cli/main.c"
expect "OpenSSL rule is lib/ only" 0 0

reset
printf 'void f(void) { sprintf(b, "%%d", 1); /* lint: allow (sized) */\n  strcpy(a, b); /* lint: allow */\n}\n' >"$tmp/lib/x.c"
expect "exemption comment" 0 0
printf 'void f(void) { sprintf(b, "%%d", 1); /* lint: allow */ x = 1; }\n' >"$tmp/lib/x.c"
expect "exemption must be trailing" 1 1

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all lint rule checks passed"
