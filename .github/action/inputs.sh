#!/usr/bin/env bash
# kc action, step 0: reads the inputs, under kc's names or helm/kind-action's,
# checks them, and says what this use of the action does. Every later step's
# condition reads these outputs, so the two names of an input never disagree.
#
# Inputs (environment): INPUT_CLUSTER_NAME, INPUT_NODE_IMAGE,
# INPUT_INSTALL_ONLY, INPUT_IGNORE_FAILED_CLEAN, INPUT_VERBOSE,
# INPUT_VERBOSITY, INPUT_CLEANUP, INPUT_IMAGE_CACHE, INPUT_EXPORT_LOGS.
# Outputs: mode (create, install or cleanup), cache (true when the node image
# cache is used), cluster-name, node-image, verbose, ignore-failed-clean,
# export-logs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

for input in INSTALL_ONLY IGNORE_FAILED_CLEAN VERBOSE CLEANUP IMAGE_CACHE EXPORT_LOGS; do
  variable=INPUT_$input
  boolean "${input,,}" "${!variable:-}"
done

if is_true "${INPUT_CLEANUP:-false}"; then
  mode=cleanup
elif is_true "${INPUT_INSTALL_ONLY:-false}"; then
  mode=install
else
  mode=create
fi

# kc's node images are amd64: say so before anything is installed or built.
if [[ $mode != cleanup ]]; then
  arch=$(uname -m)
  [[ $arch == x86_64 ]] ||
    die "this runner is $arch (${RUNNER_ARCH:-}), and kc's node images are amd64 only: use an x86_64 runner such as ubuntu-latest"
fi

verbose=false
if is_true "${INPUT_VERBOSE:-false}"; then verbose=true; fi
if [[ -n ${INPUT_VERBOSITY:-} ]]; then
  whole_number verbosity "$INPUT_VERBOSITY"
  if ((INPUT_VERBOSITY > 0)); then verbose=true; fi
fi

cache=false
if [[ $mode == create ]] && is_true "${INPUT_IMAGE_CACHE:-true}"; then cache=true; fi

set_output mode "$mode"
set_output cache "$cache"
set_output cluster-name "${INPUT_CLUSTER_NAME:-kc}"
set_output node-image "${INPUT_NODE_IMAGE:-}"
set_output verbose "$verbose"
set_output ignore-failed-clean "$(is_true "${INPUT_IGNORE_FAILED_CLEAN:-false}" && echo true || echo false)"
set_output export-logs "$(is_true "${INPUT_EXPORT_LOGS:-false}" && echo true || echo false)"
