#!/usr/bin/env bash
# check-symbols.sh: every symbol libtessera exports starts with "tsr_"
# (STYLE.md: public names are tsr_*, internals tsr__* and never exported).
#
# Usage: scripts/check-symbols.sh path/to/libtessera.so
# Lists the dynamic symbol table's defined symbols (nm -D --defined-only),
# ignoring the version-script node (TESSERA_0, an absolute symbol). Fails
# when a symbol does not start with "tsr_", or starts with "tsr__" (an
# internal that leaked out through TSR_API), or when nothing is exported at
# all (a broken build must not pass).
set -euo pipefail

lib=${1:?usage: check-symbols.sh path/to/libtessera.so}
[[ -f $lib ]] || { echo "check-symbols: $lib does not exist" >&2; exit 1; }

syms=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | LC_ALL=C sort -u)
count=$(grep -c . <<<"$syms" || true)
if [[ $count -eq 0 ]]; then
  echo "check-symbols: $lib exports no symbols" >&2
  exit 1
fi

bad=$(grep -vE '^tsr_' <<<"$syms" || true)
leaked=$(grep -E '^tsr__' <<<"$syms" || true)
status=0
if [[ -n $bad ]]; then
  echo "check-symbols: exported symbols without the tsr_ prefix:" >&2
  sed 's/^/  /' <<<"$bad" >&2
  status=1
fi
if [[ -n $leaked ]]; then
  echo "check-symbols: library-internal tsr__ symbols exported:" >&2
  sed 's/^/  /' <<<"$leaked" >&2
  status=1
fi
[[ $status -eq 0 ]] && echo "check-symbols: ok ($count exported symbols, all tsr_*)"
exit $status
