# Shared by conformance/<protocol>/run.sh (sourced after `cd` to the repository root): a work
# directory that is removed on success and kept (with the server log's tail) on failure, the
# background processes a script starts (append their PIDs to PIDS), and the step/fail helpers.

# conf_require HINT TOOL…: fail at once, naming the packages (HINT), when a tool is missing.
conf_require() {
  local hint=$1; shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed ($hint)" >&2; exit 1; }
  done
}

# conf_workdir NAME: sets WORK, DATA (Certgate's data directory) and PIDS, and installs the cleanup.
# A script may define conf_extra_logs to print more logs on failure (e.g. a client's own log).
conf_workdir() {
  WORK=$(mktemp -d "/tmp/certgate-$1-conf.XXXXXX")
  DATA=$WORK/data
  PIDS=()
  trap conf_cleanup EXIT
}

conf_cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    echo "---- certgate log (tail) ----" >&2; tail -n 60 "$WORK/certgate.log" >&2 || true
    if declare -F conf_extra_logs >/dev/null; then conf_extra_logs >&2 || true; fi
    echo "work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
