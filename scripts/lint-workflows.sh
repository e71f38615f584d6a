#!/usr/bin/env bash
# Lints kc's GitHub workflows with actionlint (expressions, action inputs,
# runner labels, and the shell in `run:` steps through shellcheck), from kc's
# artifact cache: a release download, else built from its Go module once.
# Needs kc built (npm run build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
actionlint=$(node dist/tools/tool-path.js actionlint)
"$actionlint" -no-color
echo "lint-workflows: $(find .github/workflows -name '*.yml' | wc -l) workflows pass actionlint"
