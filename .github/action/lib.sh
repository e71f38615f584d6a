# shellcheck shell=bash
# Helpers shared by the kc action's steps (sourced, not run). Inputs arrive as
# INPUT_* environment variables, set explicitly by action.yml's `env:` blocks;
# a test can run the same scripts with the same variables.

say() { printf 'kc-action: %s\n' "$*"; }

# An error GitHub shows as an annotation; the step fails.
die() {
  printf '::error title=kc action::%s\n' "$*"
  exit 1
}

warn() { printf '::warning title=kc action::%s\n' "$*"; }

# true/yes/1 (any case) are true; empty and everything else is false.
is_true() {
  case "${1,,}" in true | yes | 1) return 0 ;; *) return 1 ;; esac
}

# set_output NAME VALUE: a step output (printed when not run by a runner).
set_output() {
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  else
    printf 'output %s=%s\n' "$1" "$2"
  fi
}

# set_env NAME VALUE: an environment variable for the job's later steps.
set_env() {
  if [[ -n ${GITHUB_ENV:-} ]]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_ENV"; fi
}

# add_path DIR: put DIR first on PATH for the job's later steps (and this one).
add_path() {
  if [[ -n ${GITHUB_PATH:-} ]]; then printf '%s\n' "$1" >>"$GITHUB_PATH"; fi
  export PATH="$1:$PATH"
}

# boolean NAME VALUE: VALUE must be empty, true/false, yes/no or 1/0 (any case).
boolean() {
  case "${2,,}" in '' | true | false | yes | no | 1 | 0) return 0 ;; esac
  die "input $1 must be true or false, not '$2'"
}

# whole_number NAME VALUE: VALUE must be digits only.
whole_number() {
  [[ $2 =~ ^[0-9]+$ ]] || die "input $1 must be a whole number, not '$2'"
}

# to_seconds VALUE: sets wait_seconds; 600, 600s and 10m all mean 600
# (kind-action style durations work too). Not for $(...): die must reach the log.
# shellcheck disable=SC2034 # wait_seconds is this function's result, read by create.sh
to_seconds() {
  local value=${1,,}
  if [[ $value =~ ^([0-9]+)s?$ ]]; then
    wait_seconds=$((10#${BASH_REMATCH[1]}))
  elif [[ $value =~ ^([0-9]+)m$ ]]; then
    wait_seconds=$((10#${BASH_REMATCH[1]} * 60))
  elif [[ $value =~ ^([0-9]+)h$ ]]; then
    wait_seconds=$((10#${BASH_REMATCH[1]} * 3600))
  else
    die "input wait must be seconds (600) or a duration (600s, 10m), not '$1'"
  fi
}

# The kc to run: the one setup.sh put on PATH, else the action's own build.
find_kc() {
  if command -v kc >/dev/null 2>&1; then
    command -v kc
  elif [[ -n ${GITHUB_ACTION_PATH:-} && -f $GITHUB_ACTION_PATH/dist/src/cli/main.js ]]; then
    echo "$GITHUB_ACTION_PATH/bin/kc"
  else
    return 1
  fi
}

# The kubeconfig file kc merges the context into: the input, else kc's own default.
kubeconfig_path() {
  local path=${INPUT_KUBECONFIG:-}
  if [[ -z $path ]]; then
    path=${KUBECONFIG:-}
    path=${path%%:*}
  fi
  [[ -n $path ]] || path=$HOME/.kube/config
  [[ $path == /* ]] || path=$PWD/$path
  echo "$path"
}
