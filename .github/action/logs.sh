#!/usr/bin/env bash
# kc action, cleanup with export-logs: collects the cluster's logs with
# `kc export logs` (every node's journals and units, every pod's container
# logs with the previous run's, the cluster's events, pods and nodes) into
# $RUNNER_TEMP/kc-logs-<name>, before the cleanup step deletes the cluster.
# Never fails the job: a cluster that is already gone has no logs to give.
#
# Inputs (environment): INPUT_CLUSTER_NAME. Output: archive (the .tar.gz to
# upload; empty when nothing was collected).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

name=${INPUT_CLUSTER_NAME:-kc}
dir=${RUNNER_TEMP:-/tmp}/kc-logs-$name
archive=
if kc=$(find_kc); then
  rm -rf "$dir" "$dir.tar.gz"
  if "$kc" export logs "$dir" --name "$name"; then
    archive=$dir.tar.gz
  else
    warn "could not collect the logs of cluster \"$name\""
  fi
else
  warn "kc is not available (did setup fail?): no logs of cluster \"$name\""
fi
set_output archive "$archive"
