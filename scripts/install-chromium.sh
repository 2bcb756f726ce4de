#!/usr/bin/env bash
# Install Debian's Chromium (and a font with Arabic glyphs) for the browser tests of the book:
# headless Chromium records every request a built page makes and takes screenshots.
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (apt-get).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium.sh: Chromium is missing and installing it needs root;" \
         "run: sudo apt-get install chromium fonts-dejavu-core" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
