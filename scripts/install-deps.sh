#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, benchmarking and
# running tessera need, but only those that are missing, so that a second run
# costs one dpkg query and no network.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libssl-dev libjansson-dev libsodium-dev libmicrohttpd-dev libsqlite3-dev
  libargon2-dev libcurl4-openssl-dev libpq-dev libhiredis-dev libcmocka-dev
  libjwt-dev wrk sqlite3 curl ca-certificates nginx openssl chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js (for the interoperability tests against the npm `jose` package) may
# come from another source that bundles npm; only ask Debian when it is absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
