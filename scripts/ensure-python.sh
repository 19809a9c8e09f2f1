#!/usr/bin/env bash
# Create the virtualenv ($1) with Python 3.11, installing Python 3.11 with apt-get when it is
# missing and we are root on Debian/Ubuntu.
set -euo pipefail
venv=${1:-.venv}

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
       && "$candidate" -c 'import ensurepip, venv' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  exit 0
fi
python=$(find_python) || {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Python 3.11 with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >/dev/null
    python=$(find_python)
  else
    echo "civicflow needs Python 3.11 with venv (Debian/Ubuntu: apt-get install python3.11 python3.11-venv)" >&2
    exit 1
  fi
}
echo "==> creating $venv with $python"
"$python" -m venv "$venv"
