#!/usr/bin/env bash
# Interoperability of the tessera CLI with node's `jose` (npm, pinned in
# package-lock.json; scripts/install-node-deps.sh installs it with `npm ci`).
# For every algorithm, both directions:
#   tessera keygen -> tessera sign -> jose jwtVerify (importJWK, algorithms pinned)
#   jose generateKeyPair/exportJWK -> jose SignJWT -> tessera verify
# plus negative controls: a tampered token is rejected by both libraries, a
# pinned algorithm mismatch is rejected by jose, and jose's unsecured JWT is
# rejected by tessera. No network is used.
#
# Usage: test_jose_interop.sh PATH/TO/tessera
set -uo pipefail

T=${1:?usage: test_jose_interop.sh PATH/TO/tessera}
HERE=$(cd "$(dirname "$0")" && pwd)
JOSE=(node "$HERE/jose_helper.mjs")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; [[ -n ${2:-} ]] && echo "      $2"; }

if ! command -v node >/dev/null; then
  echo "FAIL  node is not installed (scripts/install-deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1
fi
if [[ ! -f $HERE/node_modules/jose/package.json ]]; then
  echo "FAIL  jose is not installed: run scripts/install-node-deps.sh"; echo "0 passed, 1 failed"; exit 1
fi
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["jose"])' "$HERE/package.json")
have=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$HERE/node_modules/jose/package.json")
[[ $want == "$have" ]] && ok "jose $have installed as pinned" || bad "jose version" "installed $have, pinned $want"

# swap_payload TOKEN OTHER: TOKEN's header and signature around OTHER's payload.
swap_payload() { local o=${2#*.}; echo "${1%%.*}.${o%%.*}.${1##*.}"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get(sys.argv[1], ""))' "$1"; }

ALGS=(HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)
for a in "${ALGS[@]}"; do
  echo "== $a"
  # --- tessera signs, jose verifies ---
  if ! "$T" keygen --alg "$a" >"k_$a.jwk" 2>err; then bad "$a: tessera keygen" "$(cat err)"; continue; fi
  vk=k_$a.jwk
  if [[ $a != HS* ]]; then "$T" pub "$vk" >"p_$a.jwk" && vk=p_$a.jwk; fi
  tok=$("$T" sign --key "k_$a.jwk" --iss tessera --aud jose --sub alice --claims '{"scope":"s"}')
  out=$("${JOSE[@]}" verify "$vk" "$a" "$tok" tessera jose alice)
  if [[ $? -eq 0 && $(field scope <<<"$out") == s && $(field sub <<<"$out") == alice ]]; then
    ok "$a: tessera-signed token verifies in jose"
  else
    bad "$a: tessera-signed token verifies in jose" "$out"
  fi
  other=$("$T" sign --key "k_$a.jwk" --iss tessera --aud jose --sub mallory)
  forged=$(swap_payload "$tok" "$other")
  out=$("${JOSE[@]}" verify "$vk" "$a" "$forged" tessera jose)
  [[ $? -eq 1 && $out == ERR_JWS_SIGNATURE_VERIFICATION_FAILED ]] && ok "$a: jose rejects a tampered tessera token" \
    || bad "$a: jose rejects a tampered tessera token" "$out"
  "$T" verify --key "$vk" --alg "$a" --aud jose "$forged" >/dev/null 2>err
  [[ $? -eq 1 && $(cat err) == "tessera: bad_signature: "* ]] && ok "$a: tessera rejects the same tampered token" \
    || bad "$a: tessera rejects the same tampered token" "$(cat err)"
  wrong=PS256; [[ $a == PS256 ]] && wrong=RS256
  [[ $a == HS* ]] && wrong=HS512 && [[ $a == HS512 ]] && wrong=HS256
  out=$("${JOSE[@]}" pinned "$vk" "$a" "$wrong" "$tok" 2>&1)
  [[ $out == ERR_JOSE_ALG_NOT_ALLOWED ]] && ok "$a: jose rejects it when pinned to $wrong" \
    || bad "$a: jose rejects it when pinned to $wrong" "$out"

  # --- jose signs, tessera verifies ---
  if ! tok=$("${JOSE[@]}" sign "$a" "j_$a.jwk" jose tessera bob); then bad "$a: jose sign"; continue; fi
  out=$("$T" verify --key "j_$a.jwk" --alg "$a" --iss jose --aud tessera --sub bob --require jti,iat "$tok" 2>err)
  if [[ $? -eq 0 && $(field scope <<<"$out") == "read write" ]]; then
    ok "$a: jose-signed token verifies in tessera"
  else
    bad "$a: jose-signed token verifies in tessera" "$(cat err)"
  fi
  other=$("${JOSE[@]}" sign "$a" "j2_$a.jwk" jose tessera mallory)
  forged=$(swap_payload "$tok" "$other")
  "$T" verify --key "j_$a.jwk" --alg "$a" --aud tessera "$forged" >/dev/null 2>err
  [[ $? -eq 1 && $(cat err) == "tessera: bad_signature: "* ]] && ok "$a: tessera rejects a tampered jose token" \
    || bad "$a: tessera rejects a tampered jose token" "$(cat err)"
  out=$("${JOSE[@]}" verify "j_$a.jwk" "$a" "$forged" jose tessera)
  [[ $? -eq 1 && $out == ERR_JWS_SIGNATURE_VERIFICATION_FAILED ]] && ok "$a: jose rejects the same tampered token" \
    || bad "$a: jose rejects the same tampered token" "$out"
  # The other library's key under a different name must not verify.
  "$T" verify --key "j2_$a.jwk" --alg "$a" --aud tessera "$tok" >/dev/null 2>err
  [[ $? -eq 1 ]] && ok "$a: tessera rejects the jose token under another jose key" \
    || bad "$a: tessera rejects the jose token under another jose key" "$(cat err)"
done

echo "== extras"
# jose's fully specified "Ed25519" algorithm name: tessera accepts it as EdDSA.
if tok=$("${JOSE[@]}" sign Ed25519 j_ed.jwk jose tessera bob); then
  "$T" verify --key j_ed.jwk --alg Ed25519 --aud tessera "$tok" >/dev/null 2>err \
    && ok "Ed25519 (fully specified alg) from jose verifies in tessera" \
    || bad "Ed25519 (fully specified alg) from jose verifies in tessera" "$(cat err)"
else
  bad "jose sign Ed25519"
fi
# jose's unsecured JWT (alg "none") is never accepted.
tok=$("${JOSE[@]}" unsecured)
for k in k_HS256.jwk p_ES256.jwk; do
  a=HS256; [[ $k == p_ES256.jwk ]] && a=ES256
  "$T" verify --key "$k" --alg "$a" "$tok" >/dev/null 2>err
  [[ $? -eq 1 && $(cat err) == "tessera: "* ]] && ok "tessera rejects jose's unsecured JWT ($a key)" \
    || bad "tessera rejects jose's unsecured JWT ($a key)" "$(cat err)"
done
# A tessera private JWK set of every algorithm, exported public by tessera, imports in jose.
"$T" jwks p_*.jwk >set.json
n=$("${JOSE[@]}" importset set.json 2>&1)
[[ $n == 10 ]] && ok "jose imports all 10 public keys of 'tessera jwks'" || bad "jose imports tessera jwks" "$n"

echo
echo "$pass passed, $fail failed"
((fail == 0))
