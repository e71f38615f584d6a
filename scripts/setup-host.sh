#!/usr/bin/env bash
# Prepares this machine for kc: a Docker engine that can run privileged
# systemd containers, and the tools kc needs to build artifacts from source
# when release downloads cannot be reached (KC_SETUP_PROFILE=runtime leaves
# those out). Safe to run any number of times: a second run finds everything
# in place and changes nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wrapper_dest=/usr/local/libexec/kc/runc-capfilter
# Overridable so that the runtime set-up can be tried on a copy.
daemon_json=${KC_DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
dockerd_log=/var/log/kc-dockerd.log

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "'$*' needs root; run this script as root or install sudo"; fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || die "missing $*, and this is not a Debian-like system: install them by hand"
  if [[ $apt_updated -eq 0 ]]; then as_root apt-get update -qq; apt_updated=1; fi
  say "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- tools kc uses on the host -------------------------------------------------
# What to install, decided here and only here (test/unit/setup-host.test.ts):
#   runtime  what running clusters needs: a Docker engine that can start
#            containers, and jq for its configuration. On a host whose kernel
#            has AppArmor enabled, Docker confines unprivileged containers (kc's
#            registry) with its docker-default profile, which it loads with
#            apparmor_parser: without the apparmor package every such container
#            fails to start ("AppArmor enabled on system but the docker-default
#            profile could not be loaded"). docker.io only recommends it.
#   full     runtime, plus what offline source builds need (gcc, libc6-dev,
#            libseccomp-dev, pkg-config, debootstrap) and what `npm test`
#            lints with (shellcheck). The default; the GitHub Action asks for
#            runtime, so a runner that has Docker runs no apt-get at all.
apparmor_enabled() {
  local enabled=''
  # Grouped: a kernel without AppArmor has no such file, and bash reports a
  # failed input redirection before a 2>/dev/null after it takes effect.
  { read -r enabled <"${KC_APPARMOR_ENABLED_FILE:-/sys/module/apparmor/parameters/enabled}"; } 2>/dev/null || true
  [[ $enabled == Y ]]
}

has() { command -v "$1" >/dev/null 2>&1; }

# Prints the Debian packages this host lacks, one per line.
wanted_packages() {
  local profile=$1 pkg
  has dockerd || echo docker.io
  if apparmor_enabled && ! has apparmor_parser; then echo apparmor; fi
  has jq || echo jq
  [[ $profile == full ]] || return 0
  has debootstrap || echo debootstrap
  has shellcheck || echo shellcheck # npm test lints every shell script
  has gcc || printf '%s\n' gcc libc6-dev
  for pkg in libseccomp-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"
  done
}

ensure_host_packages() {
  local want
  mapfile -t want < <(wanted_packages "$1")
  if [[ ${#want[@]} -gt 0 ]]; then apt_install "${want[@]}"; fi
}

# --- the Docker engine ----------------------------------------------------------
docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

systemd_is_init() { [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]]; }

start_dockerd() {
  if systemd_is_init; then
    as_root systemctl start docker
  else
    say "starting dockerd (log: $dockerd_log)"
    as_root bash -c "nohup dockerd >>'$dockerd_log' 2>&1 </dev/null &"
  fi
  local i
  for i in $(seq 1 60); do docker_answers && return 0; sleep 1; done
  tail -n 20 "$dockerd_log" >&2 || true
  die "dockerd did not answer within 60s"
}

stop_dockerd() {
  if systemd_is_init; then as_root systemctl stop docker; return; fi
  local pid
  pid=$(pgrep -x dockerd || true)
  [[ -n $pid ]] || return 0
  as_root kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
}

# --- capabilities ----------------------------------------------------------------
# Prints the capabilities the kernel knows but this host's bounding set lacks.
missing_capabilities() {
  local last bnd i
  last=$(cat /proc/sys/kernel/cap_last_cap)
  bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  for ((i = 0; i <= last; i++)); do
    if (( ((16#$bnd) >> i & 1) == 0 )); then printf '%s ' "$i"; fi
  done
}

# Installs the runc wrapper and registers it with dockerd as the runtime
# "kc-runc": kc selects it for its own node containers only, every other
# container keeps dockerd's default runtime. Returns 0 when the daemon
# configuration changed (so dockerd must be restarted).
install_capfilter_runtime() {
  local real_runc tmp changed=1
  real_runc=$(command -v runc || true)
  [[ -n $real_runc ]] || die "runc not found: install Debian's runc package"
  tmp=$(mktemp)
  sed "s|@REAL_RUNC@|$real_runc|" "$here/runc-capfilter" >"$tmp"
  if ! cmp -s "$tmp" "$wrapper_dest" 2>/dev/null; then
    as_root install -D -m 0755 "$tmp" "$wrapper_dest"
    changed=0
  fi
  rm -f "$tmp"
  if [[ $(as_root env KC_DOCKER_DAEMON_JSON="$daemon_json" "$here/docker-daemon-json.sh" register "$wrapper_dest") == changed ]]; then
    changed=0
  fi
  return $changed
}

# Hosts set up by older kc versions run every container with kc-runc as
# dockerd's default runtime: undo that. Returns 0 when the configuration changed.
unset_capfilter_default() {
  [[ $(as_root env KC_DOCKER_DAEMON_JSON="$daemon_json" "$here/docker-daemon-json.sh" unset-default) == changed ]]
}

ensure_docker() {
  local missing restart=0
  missing=$(missing_capabilities)
  if [[ -n $missing ]]; then
    say "this host's capability bounding set lacks capabilities [${missing% }]: using the runc-capfilter runtime"
    if install_capfilter_runtime; then restart=1; fi
  elif [[ -s $daemon_json ]] && unset_capfilter_default; then
    say "kc-runc is no longer dockerd's default runtime"
    restart=1
  fi
  if docker_answers; then
    if [[ $restart -eq 1 ]]; then say "restarting dockerd for the new runtime configuration"; stop_dockerd; start_dockerd; fi
  else
    start_dockerd
  fi
  say "Docker engine $(docker version --format '{{.Server.Version}}') is ready"
}

# --- what source builds need ------------------------------------------------------
check_build_tools() {
  local go_version
  if ! command -v go >/dev/null; then
    say "warning: Go is not installed. kc downloads release binaries where it can; offline it builds them"
    say "         from source and then needs Go 1.26 or newer (https://go.dev/dl)."
    return
  fi
  go_version=$(go env GOVERSION | sed 's/^go//')
  if [[ $(printf '%s\n' 1.26 "$go_version" | sort -V | head -n1) != 1.26 ]]; then
    say "warning: Go $go_version is too old to build Kubernetes from source; install Go 1.26 or newer if release downloads fail here."
  else
    say "Go $go_version found (used when release downloads are unreachable)"
  fi
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [[ $node_major -ge 20 ]] || die "kc needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))"
}

main() {
  local profile=${KC_SETUP_PROFILE:-full}
  [[ $profile == full || $profile == runtime ]] || die "KC_SETUP_PROFILE=$profile: use full (the default) or runtime"
  ensure_host_packages "$profile"
  ensure_docker
  check_build_tools
}

# Sourced (by the tests), it only defines the functions above.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main; fi
