#!/usr/bin/env bash
# Runs shellcheck over every shell script kc ships: files ending in .sh, and
# files whose first line names sh or bash, under scripts/, node-image/ and
# .github/action/. Found by looking, so a new script is checked without
# anyone remembering to list it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v shellcheck >/dev/null || {
  echo 'lint-shell: shellcheck is not installed: run scripts/setup-host.sh (or apt-get install shellcheck)' >&2
  exit 1
}

scripts=()
while IFS= read -r -d '' file; do
  if [[ $file == *.sh ]] || head -n1 "$file" | grep -Eq '^#!.*\b(ba)?sh\b'; then scripts+=("$file"); fi
done < <(find scripts node-image .github/action -type f -print0 | sort -z)

# SCRIPTDIR: a script sources its helpers (lib.sh) from its own folder.
shellcheck --external-sources --source-path=SCRIPTDIR "${scripts[@]}"
echo "lint-shell: ${#scripts[@]} scripts pass shellcheck"
