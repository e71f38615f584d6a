#!/usr/bin/env bash
# Everything a fresh machine needs before `kc create cluster`: the host (Docker
# engine and build tools, see setup-host.sh), kc's npm dependencies, and kc
# itself compiled. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# KC_SETUP_PROFILE=runtime (the GitHub Action's) leaves out offline build tools.
bash scripts/setup-host.sh
# npm ci replaces node_modules even when nothing changed: only run it when
# package-lock.json differs from what the last install used.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "$(cat node_modules/.kc-lock-sha256 2>/dev/null)" != "$lock_sum" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >node_modules/.kc-lock-sha256
else
  echo "setup: npm dependencies are up to date"
fi
npm run build --silent
echo "setup: kc is ready: ./bin/kc --help"
