#!/usr/bin/env bash
# Create the virtualenv $1 with Python $2 (default 3.11), installing that Python with apt-get
# when it is missing and we are root on Debian/Ubuntu.
set -euo pipefail
venv=${1:-.venv}
version=${2:-3.11}
major=${version%%.*}
minor=${version#*.}

is_wanted() {
  "$1" -c "import sys; sys.exit(sys.version_info[:2] != ($major, $minor))" 2>/dev/null
}

# On PATH, then in pyenv's versions (a pyenv shim answers only for the versions selected)
candidates() {
  command -v "python$version" python3 2>/dev/null || true
  local root
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  ls -d "$root"/versions/"$version".*/bin/python"$version" 2>/dev/null | sort -V -r || true
}

find_python() {
  local candidate
  while read -r candidate; do
    if [ -n "$candidate" ] && is_wanted "$candidate" \
       && "$candidate" -c 'import ensurepip, venv' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done < <(candidates)
  return 1
}

if [ -x "$venv/bin/python" ] && is_wanted "$venv/bin/python"; then
  exit 0
fi
python=$(find_python) || {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Python $version with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version" "python$version-venv" >/dev/null
    python=$(find_python)
  else
    echo "civicflow needs Python $version with venv (Debian/Ubuntu: apt-get install python$version python$version-venv)" >&2
    exit 1
  fi
}
echo "==> creating $venv with $python"
rm -rf "$venv"
"$python" -m venv "$venv"
