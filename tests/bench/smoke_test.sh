#!/bin/bash
# Smoke test of the benchmark tools: tokend-noop-server on a Unix socket, tokend-loadgen
# against it for GetToken and Health, then SIGTERM and a clean exit.
# Usage: smoke_test.sh NOOP_SERVER_BIN LOADGEN_BIN
set -euo pipefail

server_bin="$1"
loadgen_bin="$2"
dir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "${server_pid}" ]]; then kill -KILL "${server_pid}" 2>/dev/null || true; fi
  rm -rf "${dir}"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

socket="${dir}/noop.sock"
"${server_bin}" --listen "unix://${socket}" 2>"${dir}/server.log" &
server_pid=$!
for _ in $(seq 100); do
  [[ -S "${socket}" ]] && break
  kill -0 "${server_pid}" 2>/dev/null || fail "the server exited: $(cat "${dir}/server.log")"
  sleep 0.1
done
[[ -S "${socket}" ]] || fail "no socket at ${socket} after 10 s"

for method in GetToken Health; do
  line="$("${loadgen_bin}" --target "unix://${socket}" --method "${method}" --concurrency 4 \
    --duration 1s --warmup 200ms --json-only --cpu-of-pid "${server_pid}")"
  echo "${method}: ${line}"
  calls="$(grep -o '"calls":[0-9]*' <<<"${line}" | cut -d: -f2)"
  [[ -n "${calls}" && "${calls}" -gt 0 ]] || fail "${method}: no calls counted"
  grep -q '"errors":{}' <<<"${line}" || fail "${method}: calls failed"
done

kill -TERM "${server_pid}"
status=0
wait "${server_pid}" || status=$?
server_pid=""
[[ "${status}" -eq 0 ]] || fail "the server exited with ${status} after SIGTERM: $(cat "${dir}/server.log")"
[[ ! -e "${socket}" ]] || fail "the server left its socket behind"
echo "PASS"
