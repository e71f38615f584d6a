#!/usr/bin/env bash
# dev-engine.sh: a second Docker engine in a container on this machine, to try
# (and test) clusters that span Docker engines without a second host.
#
#   SIMULATION ONLY: real users point kc at their real hosts
#   (docs/multi-engine.md). The engine runs privileged, with an
#   unauthenticated API on a private Docker network of this host.
#
#   dev-engine.sh start NAME     builds kc/engine:dev if needed, starts engine NAME,
#                                prints its address (tcp://10.210.0.N:2375)
#   dev-engine.sh host NAME      prints the address of a running engine NAME
#   dev-engine.sh restart NAME   restarts engine NAME (its images and containers stay)
#   dev-engine.sh stop NAME      removes engine NAME and everything in it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${KC_ENGINE_IMAGE:-kc/engine:dev}
network=kc-dev-engines
# Outside Docker's default pools, kc's cluster range (172.30/16) and the usual pod/service ranges.
subnet=10.210.0.0/24
label=dev.kc.dev-engine

die() { printf 'dev-engine: %s\n' "$*" >&2; exit 2; }
container() { printf 'kc-engine-%s' "$1"; }

build_image() {
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  local base=debian:bookworm-slim context
  docker image inspect "$base" >/dev/null 2>&1 || base=kc/debian-base:bookworm
  docker image inspect "$base" >/dev/null 2>&1 || die "no base image ($base): build kc's node image first (./bin/kc build node-image)"
  context=$(mktemp -d)
  cp "$here/../images/engine/Dockerfile" "$here/../images/engine/entrypoint.sh" "$here/runc-capfilter" "$context/"
  printf 'dev-engine: building %s from %s\n' "$image" "$base" >&2
  docker build -q --build-arg "BASE=$base" -t "$image" "$context" >/dev/null
  rm -rf "$context"
}

ensure_network() {
  docker network inspect "$network" >/dev/null 2>&1 && return 0
  docker network create --label "$label=" --subnet "$subnet" "$network" >/dev/null
}

# The first address of the network no engine uses yet: fixed, so that a
# restarted engine keeps the address a swarm knows it by.
free_address() {
  local used n
  used=$(docker network inspect "$network" --format '{{range .Containers}}{{.IPv4Address}} {{end}}')
  for n in $(seq 10 250); do
    [[ " $used " == *" 10.210.0.$n/"* ]] || { echo "10.210.0.$n"; return 0; }
  done
  die "no free address left on $network"
}

address_of() {
  docker inspect "$(container "$1")" --format "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" 2>/dev/null \
    || die "engine '$1' is not running: start it with $0 start $1"
}

wait_until_answers() {
  local host=$1 _
  for _ in $(seq 1 120); do
    docker -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "engine at $host did not answer within 60s: docker logs $2"
}

start() {
  local name=$1 runtime=() modules=() ip
  [[ $name =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "engine name '$name': use lower-case letters, digits and dashes"
  if docker inspect "$(container "$name")" >/dev/null 2>&1; then
    docker start "$(container "$name")" >/dev/null
  else
    build_image
    ensure_network
    # The host's capability-filtering runtime where it has one (see setup-host.sh).
    docker info --format '{{json .Runtimes}}' | grep -q '"kc-runc"' && runtime=(--runtime kc-runc)
    [[ -d /lib/modules ]] && modules=(-v /lib/modules:/lib/modules:ro)
    ip=$(free_address)
    docker run -d --name "$(container "$name")" --hostname "$name" --label "$label=$name" \
      --privileged --cgroupns "${KC_ENGINE_CGROUPNS:-private}" "${runtime[@]}" "${modules[@]}" \
      --network "$network" --ip "$ip" -v "$(container "$name")-data:/var/lib/docker" \
      "$image" >/dev/null
  fi
  local host
  host="tcp://$(address_of "$name"):2375"
  wait_until_answers "$host" "$(container "$name")"
  echo "$host"
}

stop() {
  local name=$1
  docker rm -f "$(container "$name")" >/dev/null 2>&1 || :
  docker volume rm -f "$(container "$name")-data" >/dev/null 2>&1 || :
  if docker network inspect "$network" >/dev/null 2>&1 && [[ -z $(docker network inspect "$network" --format '{{range .Containers}}x{{end}}') ]]; then
    docker network rm "$network" >/dev/null
  fi
}

[[ $# -eq 2 ]] || die "usage: $0 start|host|restart|stop NAME"
case $1 in
  start) start "$2" ;;
  host) echo "tcp://$(address_of "$2"):2375" ;;
  restart) docker restart "$(container "$2")" >/dev/null && wait_until_answers "tcp://$(address_of "$2"):2375" "$(container "$2")" && echo "tcp://$(address_of "$2"):2375" ;;
  stop) stop "$2" ;;
  *) die "unknown action '$1': use start, host, restart or stop" ;;
esac
