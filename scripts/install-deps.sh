#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and CI need. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libasio-dev libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev doctest-dev libcli11-dev libtomlplusplus-dev
  clang libclang-rt-14-dev
  libreadline-dev libsqlite3-dev libsodium-dev sqlite3
  procps tmux
  libssl-dev openssl ca-certificates curl prometheus
  libhiredis-dev redis-server redis-tools
  chromium chromium-driver python3-selenium python3-websockets
  python3-irc irssi
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
