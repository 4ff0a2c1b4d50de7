#!/usr/bin/env bash
# GetToken from cache against the no-op baseline, side by side in one run: tokend and
# tokend-noop-server (same gRPC setup, handlers that do nothing) both on core 0, the load
# generator on core 1, over the Unix socket and loopback TCP, at 1, 16 and 64 concurrent
# calls. Each point runs RUNS times, interleaved (noop, tokend, noop, ...) so that machine noise
# falls on both; the medians and the ratios tokend/no-op are printed as a Markdown table.
# Also prints the token requests one key costs over a simulated day (fake clock).
#
# Usage: scripts/bench-gettoken.sh [DURATION (default 5s)] [RUNS (default 3)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TOKEND_BUILD_DIR:-$root/build}/release
duration=${1:-5s}
runs=${2:-3}

"$root/scripts/install-deps.sh"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target tokend tokenctl tokend-devidp tokend-loadgen \
  tokend-noop-server tokend-renewal-simulation >/dev/null

work=$(mktemp -d /tmp/tokend-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$build/tests/devidp/tokend-devidp" --port-file "$work/idp.port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/idp.port" ] && break; sleep 0.05; done
mkdir -p "$work/secrets/mde"
printf '11111111-1111-1111-1111-111111111111\n' >"$work/secrets/mde/tenant-id"
printf 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n' >"$work/secrets/mde/client-id"
printf 'dev-secret-1\n' >"$work/secrets/mde/client-secret"

taskset -c 0 "$build/tests/bench/tokend-noop-server" --listen "unix://$work/noop.sock,127.0.0.1:0" \
  2>"$work/noop.log" &
noop_pid=$!
pids+=($noop_pid)

tcp_of() {  # the loopback address a server logged as bound
  for _ in $(seq 200); do
    addr=$(grep -o '"address":"127.0.0.1:[0-9]*"' "$1" | head -1 | cut -d'"' -f4 || true)
    [ -n "$addr" ] && { echo "$addr"; return; }
    sleep 0.05
  done
  echo "no TCP address in $1" >&2
  exit 1
}
# Cache hits log nothing, so tokend runs at its default log level.
taskset -c 0 "$build/service/tokend" --listen "unix://$work/tokend.sock,127.0.0.1:0" \
  --secrets-dir "$work/secrets" --authority-host "http://127.0.0.1:$(cat "$work/idp.port")" \
  2>"$work/tokend.log" &
tokend_pid=$!
pids+=($tokend_pid)
tokend_tcp=$(tcp_of "$work/tokend.log")
noop_tcp=$(tcp_of "$work/noop.log")
resource=https://api.securitycenter.microsoft.com
for _ in $(seq 100); do
  "$build/client/tokenctl" --addr "unix://$work/tokend.sock" get-token --resource $resource \
    >/dev/null 2>&1 && break
  sleep 0.05
done

results="$work/results.jsonl"
request="{\"resource\":\"$resource\"}"
for run in $(seq "$runs"); do
  for transport in unix tcp; do
    for c in 1 16 64; do
      for server in noop tokend; do
        if [ $transport = unix ]; then target="unix://$work/$server.sock"
        elif [ $server = noop ]; then target=$noop_tcp
        else target=$tokend_tcp; fi
        pid=$noop_pid; [ $server = tokend ] && pid=$tokend_pid
        line=$(taskset -c 1 "$build/tests/bench/tokend-loadgen" --target "$target" \
          --method GetToken --request "$request" --concurrency $c --duration "$duration" \
          --warmup 1s --cpu-of-pid $pid --json-only 2>/dev/null | tail -1)
        echo "{\"server\":\"$server\",\"transport\":\"$transport\",\"run\":$run,\"line\":$line}" \
          >>"$results"
      done
    done
  done
done

field() { grep -o "\"$1\":[0-9.e+-]*" | head -1 | cut -d: -f2; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
stat() {  # server transport concurrency field
  grep "\"server\":\"$1\",\"transport\":\"$2\"" "$results" | grep "\"concurrency\":$3," |
    while read -r l; do echo "$l" | sed 's/.*"line"://' | field "$4"; done | median
}

echo
echo "GetToken from cache vs no-op handler; $runs runs of $duration each, medians;"
echo "servers on core 0, load generator on core 1; $(nproc) cores, $(date -u +%Y-%m-%d)."
echo
echo "| transport | concurrency | no-op QPS | tokend QPS | ratio | no-op p50/p99 µs | tokend p50/p99 µs | p99 ratio | tokend CPU µs/call (no-op) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for transport in unix tcp; do
  for c in 1 16 64; do
    nq=$(stat noop $transport $c qps); tq=$(stat tokend $transport $c qps)
    n50=$(stat noop $transport $c p50_us); n99=$(stat noop $transport $c p99_us)
    t50=$(stat tokend $transport $c p50_us); t99=$(stat tokend $transport $c p99_us)
    ncpu=$(stat noop $transport $c server_cpu_us_per_call)
    tcpu=$(stat tokend $transport $c server_cpu_us_per_call)
    ratio=$(awk -v a="$tq" -v b="$nq" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    p99r=$(awk -v a="$t99" -v b="$n99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '| %s | %s | %.0f | %.0f | %s | %.0f / %.0f | %.0f / %.0f | %s | %.1f (%.1f) |\n' \
      $transport $c "$nq" "$tq" "$ratio" "$n50" "$n99" "$t50" "$t99" "$p99r" "$tcpu" "$ncpu"
  done
done
errors=$(grep -c '"errors":{"' "$results" || true)
echo
echo "Runs that reported call errors: $errors"
echo
echo "Token requests per key, simulated (fake clock, a call every second):"
"$build/tests/bench/tokend-renewal-simulation" --hours 24 --lifetime 3599
