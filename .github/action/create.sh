#!/usr/bin/env bash
# kc action, step 2: create the cluster and merge its context into a
# kubeconfig file. Outputs: kubeconfig (that file's path), context (kc-<name>).
#
# Then the cluster's own kubectl (its Kubernetes version) goes first on PATH:
# the runner's kubectl may be of another version. Output: kubectl (its path).
#
# Inputs (environment): INPUT_CLUSTER_NAME, INPUT_CONFIG, INPUT_NODE_IMAGE,
# INPUT_KUBERNETES_VERSION, INPUT_CONTROL_PLANES, INPUT_WORKERS, INPUT_WAIT,
# INPUT_KUBECONFIG, INPUT_VERBOSE, INPUT_KUBECTL_VERSION (kind-action's:
# ignored with a warning when it is not the cluster's version).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

kc=$(find_kc) || die "kc is not on PATH: run the action's setup step (setup.sh) first"

name=${INPUT_CLUSTER_NAME:-kc}
kubeconfig=$(kubeconfig_path)
# The cluster's name always comes from cluster-name (it overrides a config
# file's name:), so outputs and the cleanup step agree on it.
args=(create cluster --name "$name" --kubeconfig "$kubeconfig")

if [[ -n ${INPUT_CONFIG:-} ]]; then
  [[ -f $INPUT_CONFIG ]] || die "config file '$INPUT_CONFIG' does not exist (relative paths start at $PWD)"
  args+=(--config "$INPUT_CONFIG")
fi

if [[ -n ${INPUT_NODE_IMAGE:-} && -n ${INPUT_KUBERNETES_VERSION:-} ]]; then
  die "give node-image or kubernetes-version, not both"
elif [[ -n ${INPUT_NODE_IMAGE:-} ]]; then
  args+=(--image "$INPUT_NODE_IMAGE")
elif [[ -n ${INPUT_KUBERNETES_VERSION:-} ]]; then
  # kc checks the version (a supported one) and runs its node image kc/node:<version>, built on first use.
  args+=(--kubernetes-version "v${INPUT_KUBERNETES_VERSION#v}")
fi

if [[ -n ${INPUT_CONTROL_PLANES:-} ]]; then
  whole_number control-planes "$INPUT_CONTROL_PLANES"
  args+=(--control-planes "$INPUT_CONTROL_PLANES")
fi
if [[ -n ${INPUT_WORKERS:-} ]]; then
  whole_number workers "$INPUT_WORKERS"
  args+=(--workers "$INPUT_WORKERS")
fi
if [[ -n ${INPUT_WAIT:-} ]]; then
  to_seconds "$INPUT_WAIT"
  args+=(--wait "$wait_seconds")
fi
if is_true "${INPUT_VERBOSE:-false}"; then args+=(--verbose); fi

say "kc ${args[*]}"
"$kc" "${args[@]}"

bin_dir=${RUNNER_TEMP:-/tmp}/kc-bin-$name
kubectl=$("$kc" export kubectl "$bin_dir" --name "$name" --quiet) || die "could not put the cluster's kubectl into $bin_dir"
add_path "$bin_dir"
set_output kubectl "$kubectl"
version=$(kubectl version --client -o json | jq -r .clientVersion.gitVersion)
if [[ -n ${INPUT_KUBECTL_VERSION:-} && v${INPUT_KUBECTL_VERSION#v} != "$version" ]]; then
  warn "kubectl_version ${INPUT_KUBECTL_VERSION} is not the cluster's: kc put the cluster's own kubectl $version on PATH instead"
fi
say "kubectl $version (the cluster's own) is $kubectl"

context=kc-$name
set_output kubeconfig "$kubeconfig"
set_output context "$context"
# Later steps' kubectl finds the cluster without being told (kc made it the current context).
set_env KUBECONFIG "$kubeconfig"
say "cluster \"$name\" is ready: kubectl --kubeconfig $kubeconfig --context $context"
