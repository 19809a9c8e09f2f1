#!/usr/bin/env bash
# Make sure promtool is there for the observability tests (tests/unit/test_observability_config.py):
# nothing to do, and nothing said, when it is on PATH; else install Debian's prometheus package,
# which ships it, with apt-get (through sudo when not root). The Prometheus daemon is not started:
# a temporary policy-rc.d tells invoke-rc.d not to start services while the package installs.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0

how() {
  echo "promtool not found: install Debian's prometheus package (apt-get install prometheus)" >&2
  echo "or put a promtool from https://prometheus.io/download/ on PATH." >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || how
if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  how
fi

# invoke-rc.d asks /usr/sbin/policy-rc.d whether it may start a service; 101 means "no".
# Only a policy file of our own is put there, and it is removed again however the script ends.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  own_policy=1
fi
cleanup() { [ -z "$own_policy" ] || "${SUDO[@]}" rm -f "$policy"; }
trap cleanup EXIT

install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1
}

echo "==> installing promtool (Debian's prometheus package) with apt-get" >&2
# The package's postinst may still complain about a service it could not start in a container
# without an init system; what matters is that promtool ends up on PATH, checked below.
install || { "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1 || true; install; } || true

command -v promtool >/dev/null 2>&1 || how
exit 0
