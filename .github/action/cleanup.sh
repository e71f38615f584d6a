#!/usr/bin/env bash
# kc action, cleanup (`cleanup: true`): delete the cluster with kc, or, when
# kc is not available (setup failed), remove its containers, networks and
# volumes with docker by their dev.kc.cluster label. Composite actions have no
# post step, so a workflow runs this as its own step, with `if: always()`.
#
# Inputs (environment): INPUT_CLUSTER_NAME, INPUT_KUBECONFIG,
# INPUT_IGNORE_FAILED_CLEAN.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

name=${INPUT_CLUSTER_NAME:-kc}
label=dev.kc.cluster=$name

delete_with_docker() {
  local ids
  ids=$(docker ps -aq --filter "label=$label") || return 1
  if [[ -n $ids ]]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f -v $ids >/dev/null || return 1
  fi
  ids=$(docker network ls -q --filter "label=$label") || return 1
  # shellcheck disable=SC2086
  if [[ -n $ids ]]; then docker network rm $ids >/dev/null || return 1; fi
  ids=$(docker volume ls -q --filter "label=$label") || return 1
  # shellcheck disable=SC2086
  if [[ -n $ids ]]; then docker volume rm -f $ids >/dev/null || return 1; fi
}

failed=0
if kc=$(find_kc); then
  args=(delete cluster --name "$name")
  if [[ -n ${INPUT_KUBECONFIG:-} ]]; then args+=(--kubeconfig "$(kubeconfig_path)"); fi
  say "kc ${args[*]}"
  "$kc" "${args[@]}" || failed=1
else
  warn "kc is not available (did setup fail?): removing cluster \"$name\" with docker"
  delete_with_docker || failed=1
fi

if [[ $failed -eq 0 ]]; then
  left=$(docker ps -aq --filter "label=$label" 2>/dev/null | wc -l)
  if [[ $left -ne 0 ]]; then
    say "$left containers of cluster \"$name\" are still there"
    failed=1
  fi
fi

if [[ $failed -ne 0 ]]; then
  if is_true "${INPUT_IGNORE_FAILED_CLEAN:-false}"; then
    warn "could not delete cluster \"$name\" (ignored: ignore-failed-clean is true)"
    exit 0
  fi
  die "could not delete cluster \"$name\""
fi
say "cluster \"$name\" deleted"
