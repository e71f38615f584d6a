#!/usr/bin/env bash
# Everything a fresh machine needs before `kc create cluster`: the host (Docker
# engine and build tools, see setup-host.sh), kc's npm dependencies, and kc
# itself compiled. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-host.sh
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "setup: kc is ready: ./bin/kc --help"
