#!/usr/bin/env bash
# Installs, once, what the extension's tests need to run a real VS Code without internet:
# the VS Code build inside the npm package code-server (4.100.3 = VS Code 1.100.3, the last
# release that runs on Node 20), Debian's Chromium to drive its workbench and openssl for the
# TLS tests' certificates. Skips what is
# already there, so CI and a fresh machine get it from the same command.
# Prints the code-server folder on its last line.
set -euo pipefail

VERSION=4.100.3
CACHE="${TASKWIRE_VSCODE_CACHE:-$HOME/.cache/taskwire}"
ROOT="$CACHE/code-server-$VERSION"
STAMP="$ROOT/.complete"

log() { printf '[setup-vscode] %s\n' "$*" >&2; }

# Debian packages: Kerberos headers for code-server's native module, ripgrep (its search binary
# is normally downloaded from GitHub), Chromium for the workbench, openssl for the TLS tests'
# certificates.
missing=()
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root, or install them with apt-get)"
    exit 1
  fi
  log "installing ${missing[*]} from Debian"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

if [ -f "$STAMP" ]; then
  log "code-server $VERSION already installed in $ROOT"
  echo "$ROOT/node_modules/code-server"
  exit 0
fi

log "installing code-server $VERSION into $ROOT (about 320 MB, once)"
rm -rf "$ROOT"
mkdir -p "$ROOT"
cd "$ROOT"
echo '{"name":"taskwire-vscode-test-host","private":true}' > package.json
# --ignore-scripts: its postinstall refuses root and downloads; the steps below replace it.
npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >&2
npm rebuild argon2 >&2

VSCODE="$ROOT/node_modules/code-server/lib/vscode"
cd "$VSCODE"
npm install --no-audit --no-fund --omit=dev --ignore-scripts >&2
# node-pty's extra compile_commands_json step fails, but pty.node is built.
npm rebuild kerberos @vscode/spdlog native-watchdog node-pty @vscode/deviceid >&2 || true
test -f node_modules/node-pty/build/Release/pty.node || { log "node-pty did not build"; exit 1; }
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
ln -sfn code-linux.sh bin/remote-cli/code-server
ln -sfn browser-linux.sh bin/helpers/browser.sh
(cd extensions && npm install --no-audit --no-fund --omit=dev --ignore-scripts >&2)

touch "$STAMP"
log "code-server $VERSION ready"
echo "$ROOT/node_modules/code-server"
