#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: redis-server (standalone and a
# local Cluster on loopback), neovim (a real LSP client) and chromium (the playground's browser
# test). Only missing packages are installed; `apt-get update` runs once, and only if needed.
# Run as root (or with sudo) on Debian or Ubuntu: `bash scripts/install-deps.sh`.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v nvim >/dev/null 2>&1 || need+=(neovim)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ "${#need[@]}" -eq 0 ]; then
  echo "install-deps: redis-server, neovim and chromium are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${need[*]}, and this machine has no apt-get; install them with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-deps: done"
