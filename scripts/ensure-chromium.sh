#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the browser tests: install it with apt-get when root;
# else say how to get it. CIVICFLOW_CHROMIUM points the tests at another build.
set -euo pipefail
chromium=${CIVICFLOW_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-wqy-microhei >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y --no-install-recommends chromium fonts-wqy-microhei >/dev/null; }
  [ -x "$chromium" ] && exit 0
fi
echo "No Chromium at $chromium: install Debian's chromium (apt-get install chromium)" >&2
echo "or set CIVICFLOW_CHROMIUM to a Chromium binary." >&2
exit 1
