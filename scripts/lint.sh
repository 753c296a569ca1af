#!/usr/bin/env bash
# lint.sh: project rules a compiler does not check (see ../shared/STYLE.md).
#
#  1. lib/, cli/ and server/ never call sprintf, strcpy, strcat, atoi, rand
#     or gets (unbounded or unchecked; use snprintf, memcpy with a length,
#     strtol/strtoll with checks, tsr__random).
#  2. lib/ never prints: no printf, fprintf, vprintf, vfprintf, puts, fputs,
#     putchar or perror. The library reports through tsr_error only.
#  3. In lib/, only crypto_ossl.c includes OpenSSL headers, except
#     <openssl/crypto.h> (OPENSSL_cleanse in alloc.c), so a second crypto
#     backend stays one new file.
#
# A line is exempt when it ends with a comment starting "lint: allow", e.g.
#     n = sprintf(buf, "%d", x); /* lint: allow (buf is sized for any int) */
# Comment-only lines are skipped, so prose may name the banned calls.
#
# Usage: scripts/lint.sh [SOURCE_ROOT]   (default: the repository root)
# Prints one line per violation (file:line: rule: text); exits 1 if any.
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

violations=0

# C sources under the given directories (those that exist).
sources() {
  local d
  for d in "$@"; do
    [[ -d $d ]] && find "$d" -type f \( -name '*.c' -o -name '*.h' \) -print
  done | LC_ALL=C sort
}

# check RULE REGEX EXCEPT FILE...: reports lines matching the extended
# regex REGEX but not EXCEPT (may be empty), minus exempt and comment-only
# lines.
check() {
  local rule=$1 regex=$2 except=$3
  shift 3
  [[ $# -eq 0 ]] && return 0
  local hits
  hits=$(grep -nHE -- "$regex" "$@" \
    | { if [[ -n $except ]]; then grep -vE -- "$except"; else cat; fi; } \
    | grep -vE '/\*[[:space:]]*lint: allow[^*]*\*/[[:space:]]*$' \
    | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)' || true)
  [[ -z $hits ]] && return 0
  local line file rest num text
  while IFS= read -r line; do
    file=${line%%:*}
    rest=${line#*:}
    num=${rest%%:*}
    text=${rest#*:}
    printf '%s:%s: %s: %s\n' "$file" "$num" "$rule" "$(sed -E 's/^[[:space:]]+//' <<<"$text")"
    violations=$((violations + 1))
  done <<<"$hits"
}

mapfile -t all_src < <(sources lib cli server)
mapfile -t lib_src < <(sources lib)

check "banned function" \
  '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|atoi|atol|atoll|rand|gets)[[:space:]]*\(' '' \
  "${all_src[@]}"

check "lib/ must not print" \
  '(^|[^A-Za-z0-9_])(printf|fprintf|vprintf|vfprintf|puts|fputs|putchar|perror)[[:space:]]*\(' '' \
  "${lib_src[@]}"

openssl_users=()
for f in "${lib_src[@]}"; do
  [[ $f == lib/crypto_ossl.c ]] || openssl_users+=("$f")
done
check "OpenSSL header outside lib/crypto_ossl.c" \
  '^[[:space:]]*#[[:space:]]*include[[:space:]]*<openssl/' \
  '#[[:space:]]*include[[:space:]]*<openssl/crypto\.h>' \
  "${openssl_users[@]}"

if [[ $violations -gt 0 ]]; then
  echo "lint: $violations violation(s)" >&2
  exit 1
fi
echo "lint: ok (${#all_src[@]} files)"
