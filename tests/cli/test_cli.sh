#!/usr/bin/env bash
# End-to-end tests of the `tessera` CLI contract (issue 2, section "CLI"):
# exit codes 0/1/2, stdout/stderr formats, one representative token for every
# rejection CODE, batch mode, stdin handling, PEM keys made with the openssl
# CLI, key files that can never verify, and robustness on junk input.
#
# Usage: test_cli.sh PATH/TO/tessera   (meson passes it; see tests/cli/meson.build)
# Prints one line per case and a final count; exits non-zero on any failure.
set -uo pipefail

T=${1:?usage: test_cli.sh PATH/TO/tessera}
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=(python3 "$HERE/jwt_tool.py")
VECTORS=${TSR_VECTORS:-$HERE/../../../shared/vectors}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

pass=0
fail=0
NOW=1800000000

ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() {
  fail=$((fail + 1))
  echo "FAIL  $1: $2"
  echo "      exit=$rc stdout: $(head -c 300 out | tr '\n' '|')"
  echo "      stderr: $(head -c 300 err | tr '\n' '|')"
}

# t NAME RC [--in FILE] [--out ERE] [--err ERE] [--noout] [--noerr] [--oneline] -- CMD...
# Runs CMD (stdin from FILE or /dev/null) and checks the exit code, that
# stdout/stderr match the extended regexes, are empty, or (--oneline) that
# stderr is exactly one line.
t() {
  local name=$1 want=$2 in=/dev/null out_re='' err_re='' noout=0 noerr=0 oneline=0
  shift 2
  while [[ $1 != -- ]]; do
    case $1 in
      --in) in=$2; shift 2 ;;
      --out) out_re=$2; shift 2 ;;
      --err) err_re=$2; shift 2 ;;
      --noout) noout=1; shift ;;
      --noerr) noerr=1; shift ;;
      --oneline) oneline=1; shift ;;
      *) echo "bad t() option $1"; exit 2 ;;
    esac
  done
  shift
  "$@" <"$in" >out 2>err
  rc=$?
  if ((rc != want)); then bad "$name" "exit $rc, expected $want"; return 1; fi
  if [[ -n $out_re ]] && ! grep -Eq -- "$out_re" out; then bad "$name" "stdout does not match /$out_re/"; return 1; fi
  if [[ -n $err_re ]] && ! grep -Eq -- "$err_re" err; then bad "$name" "stderr does not match /$err_re/"; return 1; fi
  if ((noout)) && [[ -s out ]]; then bad "$name" "stdout not empty"; return 1; fi
  if ((noerr)) && [[ -s err ]]; then bad "$name" "stderr not empty"; return 1; fi
  if ((oneline)) && [[ $(wc -l <err) -ne 1 ]]; then bad "$name" "stderr is not exactly one line"; return 1; fi
  ok "$name"
}

# eq NAME GOT WANT: a plain equality check.
eq() {
  rc=-
  if [[ $2 == "$3" ]]; then ok "$1"; else : >out; printf '%s' "$2" >err; bad "$1" "got '$2', want '$3'"; fi
}

# rejects NAME CODE TOKEN VERIFY-ARGS...: verify must exit 1 with exactly one
# stderr line "tessera: CODE: ..." that does not repeat the token's segments.
rejects() {
  local name=$1 code=$2 tok=$3
  shift 3
  t "reject $name -> $code" 1 --noout --oneline --err "^tessera: $code: [^ ]" -- "$T" verify "$@" "$tok" || return
  local seg
  for seg in $(tr '.' ' ' <<<"$tok"); do
    if ((${#seg} >= 8)) && grep -qF -- "$seg" err; then
      rc=1; bad "reject $name: message repeats token content" "$seg"; return
    fi
  done
}

jget() { "${TOOL[@]}" get "$@"; }
part() { "${TOOL[@]}" part "$@"; }

echo "== general"
t "no arguments -> usage, exit 2" 2 --noout --err '^usage: tessera' -- "$T"
t "--help -> exit 0" 0 --out '^usage: tessera COMMAND' --noerr -- "$T" --help
t "--version" 0 --out '^tessera [0-9]+\.[0-9]+\.[0-9]+$' -- "$T" --version
t "unknown command -> 2" 2 --noout --err "unknown command 'frobnicate'" -- "$T" frobnicate
for cmd in keygen pub thumbprint jwks sign verify inspect; do
  t "$cmd --help -> 0" 0 --out "^usage: tessera $cmd" --noerr -- "$T" "$cmd" --help
  t "$cmd --bogus -> 2 with usage" 2 --noout --err "unknown option '--bogus'" -- "$T" "$cmd" --bogus
done
t "option missing its value -> 2" 2 --noout --err 'needs a value' -- "$T" keygen --alg

echo "== keygen"
t "keygen without --alg -> 2" 2 --noout --err '--alg is required' -- "$T" keygen
for a in none NONE nOnE; do
  t "keygen --alg $a -> 2" 2 --noout -- "$T" keygen --alg "$a"
done
t "keygen unknown alg -> 2" 2 --noout --err 'unknown algorithm' -- "$T" keygen --alg HS1
t "keygen alg names are case-sensitive" 2 --noout -- "$T" keygen --alg es256
t "keygen --bits with a non-RSA alg -> 2" 2 --noout -- "$T" keygen --alg ES256 --bits 2048
t "keygen --bits too small -> 2" 2 --noout -- "$T" keygen --alg RS256 --bits 1024
ALGS=(HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)
for a in "${ALGS[@]}"; do
  bits=()
  [[ $a == RS* || $a == PS* ]] && bits=(--bits 2048) # 3072 is the default; 2048 keeps the suite quick
  if t "keygen --alg $a" 0 --noerr --out '^\{.*\}$' -- "$T" keygen --alg "$a" "${bits[@]}"; then
    cp out "key_$a.jwk"
    eq "keygen $a: alg" "$(jget "key_$a.jwk" alg)" "$a"
    eq "keygen $a: use is sig" "$(jget "key_$a.jwk" use)" "sig"
    eq "keygen $a: kid is the RFC 7638 thumbprint" "$(jget "key_$a.jwk" kid)" "$("$T" thumbprint "key_$a.jwk")"
    priv=d; [[ $a == HS* ]] && priv=k
    eq "keygen $a: private member '$priv' present" "$([[ -n $(jget "key_$a.jwk" $priv) ]] && echo yes)" yes
    [[ $(wc -l <out) -eq 1 ]] && ok "keygen $a: one line" || bad "keygen $a: one line" "not one line"
  fi
done
t "keygen --kid" 0 -- "$T" keygen --alg ES256 --kid my-key
eq "keygen --kid sets kid" "$(jget out kid)" my-key
t "keygen --alg Ed25519 (fully specified name)" 0 -- "$T" keygen --alg Ed25519
eq "keygen Ed25519 writes alg EdDSA" "$(jget out alg)" EdDSA
t "keygen RS256 default size is 3072 bits" 0 -- "$T" keygen --alg RS256
eq "keygen RS256 default modulus" "$(python3 -c 'import base64,json,sys; n=json.load(open("out"))["n"]; print(len(base64.urlsafe_b64decode(n+"="*(-len(n)%4)))*8)')" 3072

echo "== pub, thumbprint, jwks"
t "pub of a private EC key" 0 --noerr -- "$T" pub key_ES256.jwk
cp out pub_ES256.jwk
eq "pub drops the private member" "$(jget pub_ES256.jwk d)" ""
eq "pub keeps kid" "$(jget pub_ES256.jwk kid)" "$(jget key_ES256.jwk kid)"
eq "pub keeps x" "$(jget pub_ES256.jwk x)" "$(jget key_ES256.jwk x)"
t "pub from stdin" 0 --in key_EdDSA.jwk --out '"kty":"OKP"' -- "$T" pub
t "pub from stdin with -" 0 --in key_EdDSA.jwk --out '"kty":"OKP"' -- "$T" pub -
"$T" pub key_RS256.jwk >pub_RS256.jwk
"$T" pub key_EdDSA.jwk >pub_EdDSA.jwk
t "pub of an HMAC secret -> 2" 2 --noout --oneline --err 'no public part' -- "$T" pub key_HS256.jwk
t "pub of a missing file -> 2" 2 --noout --oneline --err '^tessera: io: ' -- "$T" pub does-not-exist.jwk
printf 'this is not a key' >junk.txt
t "pub of a junk file -> 2" 2 --noout --oneline --err '^tessera: [a-z_]+: junk.txt: ' -- "$T" pub junk.txt
t "pub with two files -> 2" 2 --noout -- "$T" pub key_ES256.jwk key_ES256.jwk
head -c 2000000 /dev/zero | tr '\0' ' ' >huge.jwk
t "pub of a 2 MB file -> too_large, 2" 2 --noout --err '^tessera: too_large: ' -- "$T" pub huge.jwk

for v in rfc7638-3.1 rfc8037-A.3; do
  if [[ -f $VECTORS/rfc/$v.json ]]; then
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["key"]))' "$VECTORS/rfc/$v.json" >vec.jwk
    want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["thumbprint"].get("sha256_b64url",""))' "$VECTORS/rfc/$v.json")
    [[ -z $want ]] && want=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs # RFC 7638 3.1 states it in text
    t "thumbprint of the $v key" 0 --noerr --out "^$want\$" -- "$T" thumbprint vec.jwk
  else
    rc=-; : >out; : >err; bad "thumbprint $v" "vector file missing under $VECTORS"
  fi
done
t "thumbprint is the same for private and public key" 0 --out "^$(jget key_ES256.jwk kid)\$" -- "$T" thumbprint pub_ES256.jwk

t "jwks of two public keys and a secret (warns)" 0 --err 'key_HS256.jwk: no public key' -- "$T" jwks pub_ES256.jwk key_RS256.jwk key_HS256.jwk
cp out set.json
eq "jwks holds the two public keys (HMAC left out)" "$(python3 -c 'import json; print(len(json.load(open("set.json"))["keys"]))')" 2
eq "jwks leaks no private member" "$(grep -cE '"(d|p|q|dp|dq|qi|k)":' set.json)" 0
t "jwks without files -> 2" 2 --noout -- "$T" jwks
t "jwks with a missing file -> 2" 2 --noout -- "$T" jwks pub_ES256.jwk nope.jwk
t "thumbprint of a set prints one line per key" 0 -- "$T" thumbprint set.json
eq "thumbprint of a set: 2 lines" "$(wc -l <out)" 2

echo "== sign"
t "sign without --key -> 2" 2 --noout --err '--key is required' -- "$T" sign
t "sign with a public key -> 2" 2 --noout --oneline --err 'public key cannot sign' -- "$T" sign --key pub_ES256.jwk
t "sign --alg none -> 2" 2 --noout -- "$T" sign --key key_ES256.jwk --alg none
t "sign --alg of another curve -> 2" 2 --noout --err '^tessera: key_mismatch' -- "$T" sign --key key_ES256.jwk --alg ES384
t "sign HS key as RS256 -> 2" 2 --noout --err '^tessera: key_mismatch' -- "$T" sign --key key_HS256.jwk --alg RS256
t "sign with a set of several keys -> 2" 2 --noout -- "$T" sign --key set.json
t "sign --exp and --ttl together -> 2" 2 --noout -- "$T" sign --key key_ES256.jwk --exp 1h --ttl 60
for bad_exp in 0 -5 5x 1.5h h '' 99999999999d; do
  t "sign --exp '$bad_exp' -> 2" 2 --noout -- "$T" sign --key key_ES256.jwk --exp "$bad_exp"
done
t "sign --claims that is not JSON -> 2" 2 --noout --oneline -- "$T" sign --key key_ES256.jwk --claims '{"a":'
t "sign --claims that is not an object -> 2" 2 --noout --oneline -- "$T" sign --key key_ES256.jwk --claims '[1]'
t "sign --claims with duplicate names -> 2" 2 --noout --oneline -- "$T" sign --key key_ES256.jwk --claims '{"a":1,"a":2}'
for c in '{"exp":"soon"}' '{"iss":5}' '{"sub":null}' '{"aud":["a",1]}' '{"nbf":"1"}'; do
  t "sign --claims '$c' (a token no verifier accepts) -> 2" 2 --noout --oneline --err '^tessera: malformed: --claims: ' -- "$T" sign --key key_ES256.jwk --claims "$c"
done
t "sign unexpected argument -> 2" 2 --noout -- "$T" sign --key key_ES256.jwk extra

t "sign with defaults" 0 --noerr --out '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' -- "$T" sign --key key_ES256.jwk --now $NOW
tok=$(cat out)
part "$tok" 0 >h.json; part "$tok" 1 >p.json
eq "sign: header alg from the key" "$(jget h.json alg)" ES256
eq "sign: header typ JWT" "$(jget h.json typ)" JWT
eq "sign: header kid from the key" "$(jget h.json kid)" "$(jget key_ES256.jwk kid)"
eq "sign: iat = now" "$(jget p.json iat)" $NOW
eq "sign: nbf = now" "$(jget p.json nbf)" $NOW
eq "sign: exp = now + 15 minutes" "$(jget p.json exp)" $((NOW + 900))
eq "sign: jti is 128 random bits" "$(jget p.json jti | tr -d '\n' | wc -c)" 22
for spec in 30s:30 15m:900 2h:7200 1d:86400 90:90; do
  t "sign --exp ${spec%%:*}" 0 -- "$T" sign --key key_ES256.jwk --now $NOW --exp "${spec%%:*}"
  part "$(cat out)" 1 >p.json
  eq "sign --exp ${spec%%:*}: exp - iat" "$(($(jget p.json exp) - $(jget p.json iat)))" "${spec##*:}"
done
t "sign --ttl 60" 0 -- "$T" sign --key key_ES256.jwk --now $NOW --ttl 60
part "$(cat out)" 1 >p.json
eq "sign --ttl 60: exp" "$(jget p.json exp)" $((NOW + 60))
t "sign with claims and registered options" 0 -- "$T" sign --key key_EdDSA.jwk --now $NOW --iss https://issuer.example \
  --sub alice --aud api --claims '{"scope":"read write","n":{"deep":[1,2]}}' --typ at+jwt --kid other-kid
tok=$(cat out); part "$tok" 1 >p.json; part "$tok" 0 >h.json
eq "sign: iss" "$(jget p.json iss)" https://issuer.example
eq "sign: sub" "$(jget p.json sub)" alice
eq "sign: single aud is a string" "$(jget p.json aud)" api
eq "sign: merged claim" "$(jget p.json scope)" "read write"
eq "sign: merged nested claim" "$(jget p.json n)" '{"deep":[1,2]}'
eq "sign: --typ" "$(jget h.json typ)" at+jwt
eq "sign: --kid" "$(jget h.json kid)" other-kid
eq "sign: EdDSA header alg" "$(jget h.json alg)" EdDSA
t "sign two audiences" 0 -- "$T" sign --key key_ES256.jwk --aud a --aud b
eq "sign: two audiences are an array" "$(part "$(cat out)" 1 >p.json; jget p.json aud)" '["a","b"]'
t "sign --typ '' omits typ" 0 -- "$T" sign --key key_ES256.jwk --typ ''
eq "sign: no typ" "$(part "$(cat out)" 0 >h.json; jget h.json typ)" ""
t "sign --claims exp overrides the default" 0 -- "$T" sign --key key_ES256.jwk --now $NOW --claims "{\"exp\":$((NOW + 5))}"
eq "sign: explicit exp kept" "$(part "$(cat out)" 1 >p.json; jget p.json exp)" $((NOW + 5))

echo "== verify: usage and key errors (exit 2)"
"$T" sign --key key_ES256.jwk --now $NOW --iss iss1 --sub alice --aud api --claims '{"scope":"s"}' >tok_es
TOK=$(cat tok_es)
t "verify without --alg -> 2" 2 --noout --err '--alg is required' -- "$T" verify --key pub_ES256.jwk "$TOK"
t "verify without --key -> 2" 2 --noout -- "$T" verify --alg ES256 "$TOK"
for a in none None NONE ES256,none 'none,ES256' ES256,XX256 es256 '' ES256, ,ES256 ES256,,RS256; do
  t "verify --alg '$a' -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg "$a" "$TOK"
done
t "verify --alg none names the code" 2 --noout --err '^tessera: alg_not_allowed: ' -- "$T" verify --key pub_ES256.jwk --alg none "$TOK"
t "EC P-256 key file with --alg RS256 -> 2" 2 --noout --err '^tessera: key_mismatch: ' -- "$T" verify --key pub_ES256.jwk --alg RS256 "$TOK"
t "EC P-256 key file with --alg ES384 -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES384 "$TOK"
t "RSA public key with --alg HS256 (key confusion) -> 2" 2 --noout -- "$T" verify --key pub_RS256.jwk --alg HS256 "$TOK"
t "HMAC key with --alg RS256 -> 2" 2 --noout -- "$T" verify --key key_HS256.jwk --alg RS256 "$TOK"
t "key file bound to RS256 with --alg PS256 -> 2" 2 --noout -- "$T" verify --key pub_RS256.jwk --alg PS256 "$TOK"
t "missing key file -> 2" 2 --noout --oneline --err '^tessera: io: nope.jwk: ' -- "$T" verify --key nope.jwk --alg ES256 "$TOK"
t "junk key file -> 2" 2 --noout --oneline -- "$T" verify --key junk.txt --alg ES256 "$TOK"
python3 -c 'import json; k=json.load(open("pub_ES256.jwk")); k["use"]="enc"; print(json.dumps(k))' >enc.jwk
t "key with use enc -> 2" 2 --noout -- "$T" verify --key enc.jwk --alg ES256 "$TOK"
"${TOOL[@]}" octjwk 00112233445566778899aabbccddeeff HS256 >short.jwk
t "HS256 key shorter than the hash -> 2" 2 --noout --err '^tessera: key_weak' -- "$T" verify --key short.jwk --alg HS256 "$TOK"
python3 -c 'import json; a=json.load(open("pub_ES256.jwk")); b=json.load(open("short.jwk")); c=dict(a, use="enc", kid="e"); print(json.dumps({"keys":[b,c,a]}))' >mixed.json
t "JWK Set: weak and wrong-use members are skipped" 0 -- "$T" verify --key mixed.json --alg ES256,HS256 --aud api --now $NOW "$TOK"
python3 -c 'import json; b=json.load(open("short.jwk")); c=dict(json.load(open("pub_ES256.jwk")), use="enc"); print(json.dumps({"keys":[b,c]}))' >unusable.json
t "JWK Set with no usable member -> 2" 2 --noout -- "$T" verify --key unusable.json --alg ES256,HS256 "$TOK"
t "verify two tokens -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES256 "$TOK" "$TOK"
t "verify --leeway out of range -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES256 --leeway 100000 "$TOK"
t "verify --now junk -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES256 --now yesterday "$TOK"
t "verify --batch with a TOKEN argument -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES256 --batch "$TOK"

echo "== verify: valid tokens (exit 0)"
t "valid token as argument" 0 --noerr -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $((NOW + 1)) "$TOK"
eq "verify prints the payload JSON" "$(cat out)" "$(part "$TOK" 1)"
printf '%s\n' "$TOK" >tok_nl
t "valid token on stdin, newline stripped" 0 --noerr --out '"scope":"s"' --in tok_nl -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW
printf '%s\r\n' "$TOK" >tok_crlf
t "valid token on stdin with CRLF" 0 --noerr --in tok_crlf -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW
t "valid token on stdin with TOKEN '-'" 0 --noerr --in tok_nl -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW -
t "valid token on stdin without newline" 0 --noerr --in tok_es -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW
printf '%s\n\n' "$TOK" >tok_2nl
t "stdin with two newlines is not one token" 1 --noout --oneline --in tok_2nl -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW
t "private key file verifies too" 0 -- "$T" verify --key key_ES256.jwk --alg ES256 --aud api --now $NOW "$TOK"
t "key in a JWK Set" 0 -- "$T" verify --key set.json --alg ES256,RS256 --aud api --now $NOW "$TOK"
t "all policy options satisfied" 0 --noerr -- "$T" verify --key pub_ES256.jwk --alg RS256,ES256 --iss iss1 --sub alice \
  --aud other --aud api --typ application/JWT --max-age 60 --require scope,jti --require iat --now $((NOW + 10)) "$TOK"
t "--alg list with several names" 0 -- "$T" verify --key pub_ES256.jwk --alg HS256,ES256,EdDSA --aud api --now $NOW "$TOK"
t "Ed25519 alias in --alg" 0 -- "$T" verify --key pub_EdDSA.jwk --alg Ed25519 --aud api --now $((NOW + 1)) \
  "$("$T" sign --key key_EdDSA.jwk --now $NOW --aud api)"
for a in "${ALGS[@]}"; do
  k=key_$a.jwk
  [[ $a != HS* ]] && { "$T" pub "$k" >"pubkey_$a.jwk"; k=pubkey_$a.jwk; }
  t "sign and verify $a" 0 --noerr --out '"jti":' -- "$T" verify --key "$k" --alg "$a" --now $((NOW + 5)) \
    "$("$T" sign --key "key_$a.jwk" --now $NOW)"
done

echo "== verify: one rejection per CODE (exit 1)"
AUD=(--key pub_ES256.jwk --alg ES256 --aud api --now $NOW)
rejects "not a token" malformed "not-a-token" "${AUD[@]}"
rejects "two segments" malformed "${TOK%.*}" "${AUD[@]}"
rejects "bad base64url" malformed "${TOK:0:10}+${TOK:11}" "${AUD[@]}"
rejects "20000-character token" too_large "$(head -c 20000 /dev/zero | tr '\0' 'a')" "${AUD[@]}"
rejects "--max-size below the token" too_large "$TOK" "${AUD[@]}" --max-size 100
"$T" sign --key key_ES256.jwk --now $NOW --aud api >tok_other
OTHER=$(cat tok_other)
TMP=${OTHER#*.}
rejects "tampered payload" bad_signature "${TOK%%.*}.${TMP%%.*}.${TOK##*.}" "${AUD[@]}"
rejects "swapped signature" bad_signature "${TOK%.*}.${OTHER##*.}" "${AUD[@]}"
"$T" keygen --alg ES256 --kid "$(jget key_ES256.jwk kid)" >impostor.jwk
rejects "same kid, other key" bad_signature "$("$T" sign --key impostor.jwk --now $NOW --aud api)" "${AUD[@]}"
rejects "expired (now = exp)" expired "$TOK" "${AUD[@]/$NOW/$((NOW + 900))}"
t "valid one second before exp" 0 -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $((NOW + 899)) "$TOK"
t "leeway covers now = exp" 0 -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $((NOW + 900)) --leeway 1 "$TOK"
rejects "nbf in the future" not_yet_valid "$("$T" sign --key key_ES256.jwk --now $NOW --aud api --claims "{\"nbf\":$((NOW + 60))}")" "${AUD[@]}"
rejects "iat in the future" issued_in_future "$("$T" sign --key key_ES256.jwk --now $NOW --aud api --claims "{\"iat\":$((NOW + 60)),\"nbf\":$NOW}")" "${AUD[@]}"
rejects "older than --max-age" too_old "$("$T" sign --key key_ES256.jwk --now $((NOW - 100)) --aud api --exp 1h)" "${AUD[@]}" --max-age 50
rejects "--require absent claim" missing_claim "$TOK" "${AUD[@]}" --require scope,role
rejects "issuer differs" iss_mismatch "$TOK" "${AUD[@]}" --iss iss2
rejects "audience differs" aud_mismatch "$TOK" --key pub_ES256.jwk --alg ES256 --aud web --now $NOW
rejects "aud present, none configured" aud_mismatch "$TOK" --key pub_ES256.jwk --alg ES256 --now $NOW
rejects "subject differs" sub_mismatch "$TOK" "${AUD[@]}" --sub bob
rejects "typ differs" typ_mismatch "$TOK" "${AUD[@]}" --typ at+jwt
"$T" pub key_RS256.jwk >rs.pub
python3 -c 'import json; a=json.load(open("pub_ES256.jwk")); b=json.load(open("rs.pub")); print(json.dumps({"keys":[a,b]}))' >es_rs.json
rejects "alg outside the allowlist" alg_not_allowed "$TOK" --key es_rs.json --alg RS256 --aud api --now $NOW
rejects "kid that matches nothing" key_not_found "$("$T" sign --key key_ES256.jwk --kid nobody --now $NOW --aud api)" --key es_rs.json --alg ES256 --aud api --now $NOW

# Hand-made HMAC tokens for the header rules.
SECRET=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
"${TOOL[@]}" octjwk $SECRET HS256 hk >hs.jwk
P="{\"exp\":$((NOW + 60))}"
hs() { "${TOOL[@]}" hs $SECRET sha256 "$1" "$2"; }
HSV=(--key hs.jwk --alg HS256 --now $NOW)
t "hand-made HS256 token verifies" 0 -- "$T" verify "${HSV[@]}" "$(hs '{"alg":"HS256","kid":"hk"}' "$P")"
for none in none None NONE nOnE; do
  rejects "alg $none with a signature" alg_not_allowed "$(hs "{\"alg\":\"$none\"}" "$P")" "${HSV[@]}"
done
# An unsecured JWS (RFC 7515 A.5 shape: empty third segment) is refused by the
# token splitter already, before the header is read: malformed.
rejects "unsecured JWS, empty signature" alg_not_allowed "$("${TOOL[@]}" unsigned '{"alg":"none"}' "$P")" "${HSV[@]}"
rejects "crit names an unknown header" crit_unsupported "$(hs '{"alg":"HS256","crit":["x-ext"],"x-ext":1}' "$P")" "${HSV[@]}"
rejects "nested JWT (cty JWT)" unsupported "$(hs '{"alg":"HS256","cty":"JWT"}' "$P")" "${HSV[@]}"
rejects "duplicate header member" malformed "$(hs '{"alg":"HS256","alg":"HS256"}' "$P")" "${HSV[@]}"
rejects "exp as a string" malformed "$(hs '{"alg":"HS256"}' "{\"exp\":\"$((NOW + 60))\"}")" "${HSV[@]}"
rejects "no exp" missing_claim "$(hs '{"alg":"HS256"}' '{"sub":"x"}')" "${HSV[@]}"
rejects "embedded jwk is never used" bad_signature "$(hs '{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}' "$P" | sed 's/\.[^.]*$/.AAAA/')" "${HSV[@]}"
t "unknown non-crit header is ignored" 0 -- "$T" verify "${HSV[@]}" "$(hs '{"alg":"HS256","x-note":"hi"}' "$P")"

echo "== verify --batch"
GOOD=$("$T" sign --key key_ES256.jwk --now $NOW --aud api)
{
  echo "$GOOD"
  echo "${GOOD%.*}.${OTHER##*.}"
  "$T" sign --key key_ES256.jwk --now $((NOW - 2000)) --aud api
  echo "garbage"
  echo ""
  head -c 20000 /dev/zero | tr '\0' 'a'; echo
  printf '%s\r\n' "$GOOD"
  echo "$GOOD" | sed 's/\./!/'
  printf '%s' "$GOOD"
} >batch.in
t "batch: mixed input, exit 0" 0 --noerr --in batch.in -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW --batch
eq "batch: one answer per line, in order" "$(tr '\n' ' ' <out)" "ok bad_signature expired malformed malformed too_large ok malformed ok "
t "batch --threads 2: mixed input" 0 --noerr --in batch.in -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW --batch --threads 2
eq "batch --threads 2: same answers, same order" "$(tr '\n' ' ' <out)" "ok bad_signature expired malformed malformed too_large ok malformed ok "
t "--threads without --batch -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES256 --threads 2 "$TOK"
t "--threads 0 -> 2" 2 --noout -- "$T" verify --key pub_ES256.jwk --alg ES256 --batch --threads 0
t "batch: empty input gives no output" 0 --noout --noerr -- "$T" verify --key pub_ES256.jwk --alg ES256 --batch
{ head -c 3000000 /dev/zero | tr '\0' 'b'; echo; echo "$GOOD"; head -c 100000 /dev/zero | tr '\0' 'c'; } >batch_big.in
t "batch: 3 MB line is too_large, next line still verified" 0 --in batch_big.in -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW --batch
eq "batch: overlong lines answered once each" "$(tr '\n' ' ' <out)" "too_large ok too_large "
for i in $(seq 1 2000); do echo "$GOOD"; done >batch_many.in
t "batch: 2000 tokens" 0 --in batch_many.in -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW --batch
eq "batch: 2000 ok lines" "$(grep -c '^ok$' out)" 2000
"${TOOL[@]}" random 3000 11 >junk3k.in
"$T" verify --key hs.jwk --alg HS256 --now $NOW --batch <junk3k.in >one.out 2>/dev/null
t "batch --threads 3 over 3000 junk lines" 0 --in junk3k.in -- "$T" verify --key hs.jwk --alg HS256 --now $NOW --batch --threads 3
eq "batch --threads 3 answers equal the single-thread answers" "$(cmp -s out one.out && echo same)" same
t "batch: --max-size applies per line" 0 --in batch_many.in --out '^too_large$' -- "$T" verify --key pub_ES256.jwk --alg ES256 --aud api --now $NOW --max-size 64 --batch
t "batch: usage errors still exit 2" 2 --noout --in batch.in -- "$T" verify --key pub_ES256.jwk --alg none --batch

echo "== PEM keys from the openssl CLI"
if command -v openssl >/dev/null; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
  openssl pkey -in ec.pem -pubout -out ec.pub.pem 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
  openssl pkey -in rsa.pem -pubout -out rsa.pub.pem 2>/dev/null
  openssl genpkey -algorithm ED25519 -out ed.pem 2>/dev/null
  openssl pkey -in ed.pem -pubout -out ed.pub.pem 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem 2>/dev/null
  openssl pkey -in rsa1024.pem -pubout -out rsa1024.pub.pem 2>/dev/null
  for spec in ec:ES256 rsa:RS256 rsa:PS512 ed:EdDSA; do
    f=${spec%%:*} a=${spec##*:}
    t "PEM $f: sign $a" 0 --noerr -- "$T" sign --key "$f.pem" --alg "$a" --now $NOW
    t "PEM $f: verify $a with the SPKI public key" 0 --noerr -- "$T" verify --key "$f.pub.pem" --alg "$a" --now $NOW "$(cat out)"
  done
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.pem 2>/dev/null
  openssl pkey -in ec384.pem -pubout -out ec384.pub.pem 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec521.pem 2>/dev/null
  openssl pkey -in ec521.pem -pubout -out ec521.pub.pem 2>/dev/null
  for spec in ec384:ES384 ec521:ES512; do
    f=${spec%%:*} a=${spec##*:}
    t "PEM $f: default alg $a verifies" 0 --noerr -- "$T" verify --key "$f.pub.pem" --alg "$a" --now $NOW "$("$T" sign --key "$f.pem" --now $NOW)"
  done
  t "PEM P-384 key with --alg ES256 -> 2" 2 --noout -- "$T" verify --key ec384.pub.pem --alg ES256 "$TOK"
  openssl genrsa -traditional -out rsa_pkcs1.pem 2048 2>/dev/null
  if grep -q 'BEGIN RSA PRIVATE KEY' rsa_pkcs1.pem; then
    t "PEM PKCS#1 (not PKCS#8) private key -> 2" 2 --noout --oneline -- "$T" sign --key rsa_pkcs1.pem
  fi
  t "PEM EC: default alg is ES256" 0 -- "$T" sign --key ec.pem --now $NOW
  eq "PEM EC: header alg" "$(part "$(cat out)" 0 >h.json; jget h.json alg)" ES256
  t "PEM: pub gives a JWK" 0 --out '"kty":"EC"' -- "$T" pub ec.pem
  "$T" pub ec.pem >ec.jwk
  eq "PEM and JWK thumbprints agree" "$("$T" thumbprint ec.pub.pem)" "$("$T" thumbprint ec.jwk)"
  t "PEM public key cannot sign -> 2" 2 --noout -- "$T" sign --key ec.pub.pem
  t "PEM EC key with --alg RS256 -> 2" 2 --noout -- "$T" verify --key ec.pub.pem --alg RS256 "$TOK"
  t "PEM RSA key with --alg HS256 -> 2" 2 --noout -- "$T" verify --key rsa.pub.pem --alg HS256 "$TOK"
  t "PEM RSA-1024 -> key_weak, 2" 2 --noout --oneline --err '^tessera: key_weak: ' -- "$T" verify --key rsa1024.pub.pem --alg RS256 "$TOK"
  rejects "PEM EC key, token from another key" bad_signature "$TOK" --key ec.pub.pem --alg ES256 --aud api --now $NOW
else
  rc=-; : >out; : >err; bad "PEM tests" "openssl CLI not found"
fi

echo "== inspect"
t "inspect a token" 0 -- "$T" inspect --now $((NOW + 60)) "$TOK"
eq "inspect: first line warns it did not verify" "$(head -n 1 out | grep -c 'NOT VERIFIED')" 1
for re in '^header:' '^payload:' '"iss": "iss1"' '^  exp  [0-9]+  20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC  \(in 14m 0s\)' \
  '^  iat .*\(1m 0s ago\)' '^  PASS alg +ES256' '^  PASS exp' '^  PASS lifetime' '^  PASS iss' '^  PASS aud' \
  '^  PASS jti' '^  PASS typ' '^  PASS kid' '^  PASS sensitive' '^  PASS size' '^  PASS key-header' '^summary: '; do
  if grep -Eq -- "$re" out; then ok "inspect shows /$re/"; else rc=0; bad "inspect shows /$re/" "missing"; fi
done
t "inspect from stdin" 0 --in tok_nl --out 'PASS alg' -- "$T" inspect
t "inspect an unsigned token" 0 --out '^  FAIL alg +"none"' -- "$T" inspect "$("${TOOL[@]}" unsigned '{"alg":"none"}' '{"sub":"x"}')"
grep -Eq '^  FAIL exp' out && ok "inspect: missing exp fails" || { rc=0; bad "inspect: missing exp fails" missing; }
grep -Eq '^  FAIL signature' out && ok "inspect: empty signature fails" || { rc=0; bad "inspect: empty signature fails" missing; }
t "inspect HS256 warns" 0 --out '^  WARN alg +HS256' -- "$T" inspect "$(hs '{"alg":"HS256"}' "$P")"
grep -Eq '^  WARN typ' out && ok "inspect: missing typ warns" || { rc=0; bad "inspect: missing typ warns" missing; }
grep -Eq '^  WARN kid' out && ok "inspect: missing kid warns" || { rc=0; bad "inspect: missing kid warns" missing; }
grep -Eq '^  WARN iss' out && ok "inspect: missing iss warns" || { rc=0; bad "inspect: missing iss warns" missing; }
t "inspect: a password claim fails" 0 --out '^  FAIL sensitive.*user_password' -- "$T" inspect "$(hs '{"alg":"HS256"}' '{"user_password":"x"}')"
t "inspect: a card number fails (Luhn)" 0 --out '^  FAIL sensitive.*\(pan\)' -- "$T" inspect "$(hs '{"alg":"HS256"}' '{"pan":"4111 1111 1111 1111"}')"
if grep -E '^  FAIL sensitive' out | grep -q '4111'; then rc=0; bad "inspect: lint line hides the value" "value shown"; else ok "inspect: lint line hides the value"; fi
t "inspect: 16 digits failing Luhn pass" 0 --out '^  PASS sensitive' -- "$T" inspect "$(hs '{"alg":"HS256"}' '{"order":"4111111111111112"}')"
t "inspect: numeric card number fails" 0 --out '^  FAIL sensitive' -- "$T" inspect "$(hs '{"alg":"HS256"}' '{"n":[{"x":5555555555554444}]}')"
t "inspect: embedded jwk header fails" 0 --out '^  FAIL key-header.*jwk' -- "$T" inspect "$(hs '{"alg":"HS256","jwk":{},"jku":"u"}' "$P")"
t "inspect: 2-day lifetime warns" 0 --out '^  WARN lifetime' -- "$T" inspect "$("$T" sign --key key_ES256.jwk --exp 2d)"
t "inspect: large token warns about size" 0 --out '^  WARN size' -- "$T" inspect "$("$T" sign --key key_ES256.jwk --claims "{\"blob\":\"$(head -c 5000 /dev/zero | tr '\0' 'x')\"}")"
t "inspect: duplicate members fail" 0 --out '^  FAIL json' -- "$T" inspect "$(hs '{"alg":"HS256","alg":"RS256"}' "$P")"
t "inspect: expired token warns" 0 --out '^  WARN validity +expired' -- "$T" inspect --now $((NOW + 10000)) "$TOK"
t "inspect: escape sequences are escaped" 0 -- "$T" inspect "$(hs '{"alg":"HS256"}' '{"x":"\u001b[31m\u202e"}')"
if grep -q $'\x1b' out; then rc=0; bad "inspect: no raw ESC in output" "found"; else ok "inspect: no raw ESC in output"; fi
t "inspect: not a token -> 2" 2 --noout --oneline --err '^tessera: malformed: ' -- "$T" inspect "hello"
t "inspect: JWE (5 segments) -> 2" 2 --noout --err 'JWE' -- "$T" inspect "a.b.c.d.e"
t "inspect: header not JSON -> 2" 2 --noout -- "$T" inspect "bm90IGpzb24.e30.AA"
t "inspect: empty stdin -> 2" 2 --noout -- "$T" inspect
t "inspect: non-JSON payload still inspects" 0 --out 'FAIL claims' -- "$T" inspect "eyJhbGciOiJIUzI1NiJ9.aGVsbG8.AA"

echo "== robustness: junk input never crashes"
"${TOOL[@]}" random 300 7 >junk.in
t "batch over 300 junk lines" 0 --in junk.in -- "$T" verify --key pub_ES256.jwk --alg ES256 --now $NOW --batch
eq "batch: one answer per junk line" "$(wc -l <out)" "$(wc -l <junk.in)"
eq "batch: junk never ok" "$(grep -c '^ok$' out)" 0
crashed=0
while IFS= read -r line; do
  "$T" inspect -- "$line" >/dev/null 2>&1; r=$?
  ((r != 0 && r != 2)) && { crashed=1; echo "      inspect exit $r on: ${line:0:80}"; }
  "$T" verify --key hs.jwk --alg HS256 --now $NOW -- "$line" >/dev/null 2>&1; r=$?
  ((r != 1)) && { crashed=1; echo "      verify exit $r on: ${line:0:80}"; }
done < <(head -n 80 junk.in)
rc=$crashed; : >out; : >err
((crashed == 0)) && ok "inspect and verify: 80 junk tokens, exit codes 0/2 and 1 only" || bad "junk tokens" "unexpected exit code"

echo
echo "$pass passed, $fail failed"
((fail == 0))
