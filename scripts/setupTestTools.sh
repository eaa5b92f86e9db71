#!/usr/bin/env bash
# Installs, once, the system tools the test suites call and that a clean Debian machine may
# lack: openssl (the TLS tests of every suite and `taskwire conformance --tls` make their
# certificates with it) and redis-server with redis-cli (the Redis store's tests start their own
# Redis servers on free loopback ports, and a Redis Cluster with redis-cli). Skips what is already there; installs with apt-get, so as root. The
# tests do not skip without these tools: they fail saying which one is missing.
set -euo pipefail

log() { printf '[setup-test-tools] %s\n' "$*" >&2; }

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
{ command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || missing+=(redis-server)
# flit_core: the Python client's build backend, for its offline-install test (a pip package, from PyPI).
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import flit_core' >/dev/null 2>&1; then
  log "installing flit_core for $(command -v python3) from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check 'flit_core>=3.12,<5' >&2
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and run the tests again"
  exit 1
fi
log "installing ${missing[*]} from Debian"
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
