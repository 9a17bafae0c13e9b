#!/usr/bin/env bash
# `npm test` runs this first. The work-queue tests start a real broker from Debian's redis-server, the
# one thing no npm package ships. When it is missing, install it here if this user may (root, or
# passwordless sudo); otherwise say how and go on: those tests then fail with the same advice, never skip.
set -u
command -v redis-server >/dev/null 2>&1 && exit 0
advice="install Redis 7 so that redis-server is on PATH (Debian: apt-get install redis-server); the work-queue tests start it"
if ! command -v apt-get >/dev/null 2>&1; then echo "redis-server is missing: $advice" >&2; exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else echo "redis-server is missing: $advice" >&2; exit 0; fi
fi
echo "redis-server is missing: installing Debian's redis-server for the work-queue tests" >&2
if ! { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends redis-server; } >&2; then
  echo "installing redis-server failed: $advice" >&2
fi
exit 0
