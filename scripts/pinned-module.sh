# Sourced by the vendor-*.sh scripts: `pinned_module CONSTANT MODULE` reads the
# version src/artifacts/manifest.ts pins as `export const CONSTANT = 'vX'`,
# downloads MODULE at it through the Go module proxy, and sets `version` and
# `dir` (the module's unpacked source). Run from the repository's root.
# shellcheck shell=sh

pinned_module() {
  version=$(sed -n "s/^export const $1 = '\(v[^']*\)';/\1/p" src/artifacts/manifest.ts)
  [ -n "$version" ] || { echo "$1 not found in src/artifacts/manifest.ts" >&2; exit 1; }
  work=$(mktemp -d)
  (cd "$work" && go mod init kc.vendor/pinned >/dev/null 2>&1)
  dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$2@$version" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  rm -rf "$work"
  [ -n "$dir" ] || { echo "cannot download Go module $2@$version" >&2; exit 1; }
}
