#!/usr/bin/env bash
# Edits dockerd's daemon.json for kc's capability-filtering runtime, leaving
# every other setting alone. Prints "changed" or "unchanged" (dockerd must be
# restarted after a change).
#
#   docker-daemon-json.sh register WRAPPER   registers WRAPPER as the runtime
#                                            "kc-runc" (kc asks for it per node
#                                            container), never as the default
#   docker-daemon-json.sh unset-default      only undoes what older kc setups
#                                            did: "default-runtime": "kc-runc"
#
# Both also migrate hosts set up the old way, whose default runtime was kc-runc.
# The file is $KC_DOCKER_DAEMON_JSON, default /etc/docker/daemon.json.
set -euo pipefail

file=${KC_DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
runtime=kc-runc
die() { printf 'docker-daemon-json: %s\n' "$*" >&2; exit 2; }

command -v jq >/dev/null || die "jq is not installed (apt-get install jq)"
[[ $# -ge 1 ]] || die "usage: $0 register WRAPPER | unset-default"

# shellcheck disable=SC2016 # $name is jq's variable, not the shell's
unset_default='if .["default-runtime"] == $name then del(.["default-runtime"]) else . end'
case $1 in
  register)
    [[ $# -eq 2 ]] || die "usage: $0 register WRAPPER"
    program=".runtimes[\$name] = {path: \$path} | $unset_default"
    wrapper=$2
    ;;
  unset-default)
    program=$unset_default
    wrapper=
    ;;
  *) die "unknown action '$1': use register or unset-default" ;;
esac

current='{}'
if [[ -s $file ]]; then
  current=$(cat "$file")
  jq -e 'type == "object"' <<<"$current" >/dev/null 2>&1 || die "$file is not a JSON object: fix it by hand first"
fi
wanted=$(jq --arg name "$runtime" --arg path "$wrapper" "$program" <<<"$current")
if jq -e --argjson want "$wanted" '. == $want' <<<"$current" >/dev/null; then
  echo unchanged
  exit 0
fi
mkdir -p "$(dirname "$file")"
tmp=$(mktemp "$file.XXXXXX")
printf '%s\n' "$wanted" >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$file"
echo changed
