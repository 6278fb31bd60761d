#!/usr/bin/env bash
# Installs what building and testing exbackup needs on Debian or Ubuntu, and
# only what is missing: Go (checked, not installed), the C toolchain and the
# X11/OpenGL headers Fyne builds against, and Xvfb for the headless GUI test.
set -euo pipefail
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

packages=(gcc pkg-config libgl1-mesa-dev xorg-dev xvfb xauth x11-apps xdotool imagemagick)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
  echo "Go 1.26 or later is needed: install it from your distribution or go.dev and put it on PATH" >&2
  exit 1
fi
