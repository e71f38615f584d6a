#!/usr/bin/env bash
# kc action, step 1: get kc's source, set up the host (Docker engine and
# build tools), install and build kc, and put bin/kc on PATH for later steps.
# Runs the repository's own scripts/setup.sh, which is safe to run again.
#
# Inputs (environment): INPUT_KC_VERSION: a folder with kc's source (the
# action's own checkout by default) or a git ref of the action's repository
# (KC_REPOSITORY, owner/name); INPUT_NODE_IMAGE_REPOSITORY: where published
# node images are pulled from (default ghcr.io/<owner>/kc-node, the owner of
# KC_REPOSITORY, where its release workflow publishes them). Output:
# source-dir (kc's source folder). Later steps get KC_NODE_IMAGE_REPOSITORY.
#
# A runner has Docker: only what running clusters needs is set up
# (KC_SETUP_PROFILE=runtime), so nothing is installed with apt-get there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

version=${INPUT_KC_VERSION:-${GITHUB_ACTION_PATH:-}}
[[ -n $version ]] || die "kc-version is empty and GITHUB_ACTION_PATH is not set: say where kc's source is"

if [[ -d $version ]]; then
  source_dir=$(cd "$version" && pwd)
else
  # A git ref (tag, branch or commit) of the repository the action came from.
  repository=${KC_REPOSITORY:-}
  [[ -n $repository ]] || die "kc-version '$version' is not a folder, and the action's repository is unknown (a local action, uses: ./): give a folder instead"
  source_dir=${RUNNER_TEMP:-/tmp}/kc-src/${version//\//_}
  if [[ ! -f $source_dir/scripts/setup.sh ]]; then
    say "fetching kc $version from ${GITHUB_SERVER_URL:-https://github.com}/$repository"
    rm -rf "$source_dir"
    mkdir -p "$source_dir"
    git -C "$source_dir" init -q
    git -C "$source_dir" fetch -q --depth 1 "${GITHUB_SERVER_URL:-https://github.com}/$repository" "$version" ||
      die "cannot fetch '$version' from $repository: is kc-version a tag, branch or commit there?"
    git -C "$source_dir" checkout -q FETCH_HEAD
  fi
fi
[[ -f $source_dir/scripts/setup.sh ]] || die "$source_dir does not look like kc's source (no scripts/setup.sh)"

command -v node >/dev/null 2>&1 || die "kc needs Node.js 20 or newer: add actions/setup-node before this action"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "kc needs Node.js 20 or newer, this runner has $(node --version): add actions/setup-node with node-version: 20"

say "setting up the host and building kc in $source_dir"
KC_SETUP_PROFILE=runtime bash "$source_dir/scripts/setup.sh"

repository=${INPUT_NODE_IMAGE_REPOSITORY:-}
if [[ -z $repository && -n ${KC_REPOSITORY:-} ]]; then
  owner=${KC_REPOSITORY%%/*}
  repository=ghcr.io/${owner,,}/kc-node # registry names are lower case
fi
if [[ -n $repository ]]; then
  set_env KC_NODE_IMAGE_REPOSITORY "$repository"
  export KC_NODE_IMAGE_REPOSITORY=$repository
  say "published node images come from $repository"
fi

add_path "$source_dir/bin"
set_output source-dir "$source_dir"
say "kc is $(command -v kc)"
kc version
