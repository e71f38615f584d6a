#!/usr/bin/env bash
# kc action, node image cache: a runner that builds kc's node image (there is
# no published one) keeps the built image between runs with actions/cache, so
# a warm run loads it in seconds instead of pulling it, or downloading or
# building every component and the image again.
#
#   image-cache.sh key   outputs `image` (the node image kc will use), `dir`
#                        (the folder actions/cache keeps) and `key` (changes
#                        whenever anything that goes into the image changes:
#                        the pinned manifest, the node image's files, the
#                        build code, the tag, the machine's architecture)
#   image-cache.sh load  loads the image from the folder, when the image is
#                        not there yet and the folder holds it
#   image-cache.sh save  saves the image into the folder, unless the cache was
#                        restored (a hit) or the image does not exist; outputs
#                        `saved` (true: actions/cache/save keeps the folder).
#                        Runs even when the job failed after the image was
#                        made, so a red pipeline does not build it again.
#
# Inputs (environment): KC_SOURCE_DIR (kc's source, for `key`),
# INPUT_NODE_IMAGE, INPUT_KUBERNETES_VERSION (as create.sh reads them),
# INPUT_IMAGE_CACHE_DIR (`key`'s dir output; `key` itself takes
# KC_IMAGE_CACHE_DIR, default ~/.cache/kc-node-image: outside ~/.cache/kc,
# which workflows cache on their own),
# INPUT_CACHE_HIT (`save`: actions/cache's cache-hit output).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

archive_name=node-image.tar

# `key` picks the folder (KC_IMAGE_CACHE_DIR, else ~/.cache/kc-node-image); the others are given it.
cache_dir() {
  echo "${INPUT_IMAGE_CACHE_DIR:-${KC_IMAGE_CACHE_DIR:-$HOME/.cache/kc-node-image}}"
}

# The node image create.sh will ask kc for: kc/node:<version>, or kc's default one.
node_image() {
  if [[ -n ${INPUT_NODE_IMAGE:-} ]]; then
    echo "$INPUT_NODE_IMAGE"
  elif [[ -n ${INPUT_KUBERNETES_VERSION:-} ]]; then
    echo "kc/node:v${INPUT_KUBERNETES_VERSION#v}"
  else
    local source_dir=${KC_SOURCE_DIR:?KC_SOURCE_DIR must name kc\'s source folder}
    node --input-type=module -e \
      "const m = await import('$source_dir/dist/src/config/defaults.js'); console.log(m.DEFAULT_NODE_IMAGE);"
  fi
}

# Everything kc builds the node image from, as one digest: the files under
# these paths of kc's source, by content and name.
inputs_digest() {
  local source_dir=$1
  (
    cd "$source_dir"
    find src/artifacts src/image node-image images scripts/runc-capfilter -type f -print0 |
      sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -c1-32
}

key() {
  local source_dir=${KC_SOURCE_DIR:?KC_SOURCE_DIR must name kc\'s source folder} image dir
  image=$(node_image)
  dir=$(cache_dir)
  mkdir -p "$dir"
  set_output image "$image"
  set_output dir "$dir"
  set_output key "kc-node-image-${image//[^A-Za-z0-9._-]/_}-$(uname -m)-$(inputs_digest "$source_dir")"
}

load() {
  local image dir
  image=$(node_image)
  dir=$(cache_dir)
  if docker image inspect "$image" >/dev/null 2>&1; then
    say "node image $image is present: nothing to load"
  elif [[ -f $dir/$archive_name ]]; then
    say "loading node image $image from the cache ($dir/$archive_name)"
    docker load -i "$dir/$archive_name"
    docker image inspect "$image" >/dev/null 2>&1 ||
      die "the cached archive $dir/$archive_name does not hold $image: delete the cache entry and run again"
  else
    say "no cached node image: kc builds $image (saved for the next run)"
  fi
}

save() {
  local image dir
  image=$(node_image)
  dir=$(cache_dir)
  local saved=false
  if is_true "${INPUT_CACHE_HIT:-false}"; then
    say "node image came from the cache: nothing to save"
  elif ! docker image inspect "$image" >/dev/null 2>&1; then
    warn "node image $image does not exist: nothing to cache"
  else
    mkdir -p "$dir"
    # Uncompressed: actions/cache compresses the folder itself (zstd).
    docker save -o "$dir/$archive_name.partial" "$image"
    mv "$dir/$archive_name.partial" "$dir/$archive_name"
    saved=true
    say "saved node image $image to $dir/$archive_name for the next run"
  fi
  set_output saved "$saved"
}

case ${1:-} in
  key) key ;;
  load) load ;;
  save) save ;;
  *) die "usage: image-cache.sh key|load|save" ;;
esac
