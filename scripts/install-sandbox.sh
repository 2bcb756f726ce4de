#!/usr/bin/env bash
# System tools of the grading sandbox (Debian/Ubuntu): bubblewrap, util-linux (setpriv, prlimit), and
# socat (the sandbox's one way out, to the configured model endpoint), and acl (setfacl: the hub's
# exchange gives each trainee's inbox to the instructors only, see autograder/hub_exchange.py). Needs root.
set -euo pipefail
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v setpriv >/dev/null && command -v prlimit >/dev/null || missing+=(util-linux)
command -v socat >/dev/null || missing+=(socat)
command -v setfacl >/dev/null || missing+=(acl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-sandbox: run as root, or ask an administrator: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
echo "install-sandbox: installed ${missing[*]}"
