#!/usr/bin/env bash
# A real Prometheus (Debian's prometheus package) scrapes the real tokend: tokend and the
# development identity provider on loopback, a GetToken through tokenctl, Prometheus started
# with a scrape config pointing at tokend's --metrics-listen, and its query API must return the
# tokend_ series with the values the calls made.
# Usage: prometheus_scrape_test.sh TOKEND_BIN TOKENCTL_BIN DEVIDP_BIN
set -euo pipefail
tokend_bin=$1
tokenctl_bin=$2
devidp_bin=$3
for tool in prometheus curl; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (scripts/install-deps.sh installs it)"; exit 1; }
done

dir=$(mktemp -d /tmp/tokend-prom.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for log in "$dir"/*.log; do echo "--- $log"; tail -20 "$log"; done
  exit 1
}
wait_for() { # seconds command...: polls until the command succeeds
  local tries=$(($1 * 10))
  shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

"$devidp_bin" --port-file "$dir/idp.port" >"$dir/idp.log" 2>&1 &
pids+=($!)
wait_for 10 test -s "$dir/idp.port" || fail "the identity provider did not start"
mkdir -p "$dir/secrets/mde"
printf '11111111-1111-1111-1111-111111111111\n' >"$dir/secrets/mde/tenant-id"
printf 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n' >"$dir/secrets/mde/client-id"
printf 'dev-secret-1\n' >"$dir/secrets/mde/client-secret"

"$tokend_bin" --listen "unix://$dir/tokend.sock" --metrics-listen 127.0.0.1:0 \
  --secrets-dir "$dir/secrets" --authority-host "http://127.0.0.1:$(cat "$dir/idp.port")" \
  2>"$dir/tokend.log" &
pids+=($!)
wait_for 20 grep -q '"msg":"serving metrics"' "$dir/tokend.log" || fail "tokend did not serve metrics"
metrics=$(grep -o '"msg":"serving metrics","address":"[^"]*"' "$dir/tokend.log" | cut -d'"' -f8)
wait_for 20 "$tokenctl_bin" --addr "unix://$dir/tokend.sock" get-token \
  --resource https://api.securitycenter.microsoft.com || fail "GetToken failed"
"$tokenctl_bin" --addr "unix://$dir/tokend.sock" get-token \
  --resource https://api.securitycenter.microsoft.com >/dev/null

cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tokend
    static_configs:
      - targets: ["$metrics"]
YAML
promtool check config "$dir/prometheus.yml" >/dev/null || fail "promtool rejects the config"

# Prometheus cannot report a port it picked, so try free-looking ports until one binds.
started=""
for attempt in 1 2 3 4 5; do
  port=$((20000 + (RANDOM * 7 + attempt) % 40000))
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1 &
  prom_pid=$!
  if wait_for 30 curl -sf "http://127.0.0.1:$port/-/ready"; then
    pids+=($prom_pid)
    started=yes
    break
  fi
  kill -TERM $prom_pid 2>/dev/null || true
  wait $prom_pid 2>/dev/null || true
done
[ -n "$started" ] || fail "Prometheus did not start"

query() { curl -sf "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1"; }
has_value() { # query value: the query's single sample has this value
  query "$1" | grep -q "\"value\":\[[0-9.e+]*,\"$2\"\]"
}
wait_for 30 has_value 'up{job="tokend"}' 1 || fail "Prometheus did not scrape tokend: $(query 'up')"
wait_for 30 has_value 'tokend_build_info' 1 || fail "no tokend_build_info: $(query tokend_build_info)"
has_value 'tokend_token_cache_requests_total{credential="mde",result="hit"}' 1 ||
  fail "cache hits: $(query tokend_token_cache_requests_total)"
has_value 'tokend_token_cache_requests_total{credential="mde",result="miss"}' 1 ||
  fail "cache misses: $(query tokend_token_cache_requests_total)"
has_value 'tokend_grpc_requests_total{method="GetToken",code="OK"}' 2 ||
  fail "GetToken calls: $(query tokend_grpc_requests_total)"
has_value 'tokend_credential_up{credential="mde"}' 1 || fail "credential_up: $(query tokend_credential_up)"
series=$(curl -sf "http://127.0.0.1:$port/api/v1/label/__name__/values" | grep -o '"tokend_[a-z_]*"' | sort -u | wc -l)
[ "$series" -ge 15 ] || fail "only $series tokend_ metric names in Prometheus"
echo "PASS: Prometheus scraped $series tokend_ metric names from $metrics"
