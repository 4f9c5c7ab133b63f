#!/usr/bin/env bash
# Installs every Debian package the build and the tests need (idempotent; apt-get as root), then
# configures and builds Release into build/ (executables in build/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev
  libboost1.81-all-dev libboost-json1.81-dev libtomlplusplus-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools haproxy procps
  iproute2 nftables libfaketime faketime
  libxml2-utils
  chromium  # tests/report: report.html rendered headless (fonts come with it: fontconfig's DejaVu)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci/setup.sh: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake --preset release >/dev/null
cmake --build --preset release -- -j"$(nproc)"
echo "ci/setup.sh: built $(ls build/bin | tr '\n' ' ')"
