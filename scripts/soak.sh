#!/usr/bin/env bash
# The soak: tokend under steady load for DURATION while its world changes around it, then a
# Markdown report and a PASS/FAIL line. Not a CI test (it takes DURATION plus 1 to 2 minutes, and
# wants an otherwise idle machine with 2+ cores).
#
# 1. Starts the development identity provider (tests/devidp) and tokend (Release build) with two
#    credentials (soak-a, soak-b: two applications of the identity provider) mounted as the
#    kubelet mounts a Secret (..data symlink), metrics on, tokens that ask to be renewed every
#    REFRESH seconds (refresh_in), so that each of the 4 cached tokens is renewed several times.
#    Token lifetimes stay longer than the soak, so that the ValidateToken corpus, minted before
#    the load starts, stays valid to the end (the identity provider has one lifetime for all).
# 2. Measures the highest GetToken and ValidateToken rates (closed loop, concurrency 16, PROBE
#    each), then runs both at once, open loop (tokend-loadgen --rate), for DURATION. The two share
#    tokend's core, so each runs at LOAD / 2 of its own highest rate: together about LOAD (0.8)
#    of what tokend can serve. SOAK_SPLIT=0 runs each at LOAD of its own highest rate instead
#    (together 1.6 times what tokend can serve: an overload test, not a soak).
# 3. Meanwhile: rotates a client secret every ~60 s (the new secret registered at the identity
#    provider, the kubelet's ..data swap, then the old secret deleted once tokend renewed with the
#    new one), alternating the credentials; injects identity provider faults (429 bursts with
#    Retry-After, 500/503, latency spikes, a malformed JSON reply, a dropped connection) every
#    DURATION/12 (6 to 30 s); rolls the signing keys (then checks that a token signed by the new key
#    validates); sends SIGHUP every ~45 s. Every token tokend holds stays valid throughout, so
#    every call must succeed.
# 4. Samples tokend's VmRSS (and thread count) when the measured interval starts, every ~30 s, and
#    at the end; scrapes /metrics at the start and the end. Before the load, tokend holds 256 calls
#    at once for 3 s, the most the soak's load generators can have in flight, so that the RSS
#    baseline includes the memory they need.
# 5. Prints the report: rates (highest, target, achieved), calls, errors by gRPC code, latency
#    percentiles, RSS start/end/max and growth, renewals, secret reloads, faults, and PASS (no
#    failed call, no invalid answer, RSS growth <= 5%, tokend stops cleanly on SIGTERM) or FAIL.
#    Exit code 0 for PASS, 1 otherwise, 2 for bad usage.
#
# Usage: scripts/soak.sh [DURATION (default 10m; 90s, 10m, 1h or seconds)]
# Environment:
#   TOKEND_BUILD_DIR     build folders' parent, as for scripts/bench.sh (default build/): the
#                        Release build is $TOKEND_BUILD_DIR/release
#   TOKEND_RELEASE_DIR   the Release build folder itself (instead of the above)
#   SOAK_NO_BUILD=1      use the binaries as they are (default: build the five targets, nice)
#   SOAK_LOAD            share of tokend's highest rate to run at (default 0.8)
#   SOAK_SPLIT           1 (default): each RPC at LOAD/2 of its highest rate; 0: at LOAD
#   SOAK_PROBE           length of each highest-rate run (default 10s)
#   SOAK_TOKENS          distinct tokens in the ValidateToken corpus (default 1000)
#   SOAK_SERVER_CPU, SOAK_CLIENT_CPU   cores for tokend and the load generators (default 0 and 1)
#
# Everything goes in one mktemp folder, removed at exit with every process started here. tokend's
# secrets are random, written by shell builtins only (never in a command line) and never printed
# (the corpus minter's fixed test secret is a flag of tokend-bench-tokens); the report ends with
# a check that no secret and no token appears in tokend's log, the scrapes or the report itself.
set -euo pipefail
umask 077
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TOKEND_RELEASE_DIR:-${TOKEND_BUILD_DIR:-$root/build}/release}

to_seconds() { # 90s, 10m, 1h or 600 -> seconds
  case $1 in
    *h) echo $((10#${1%h} * 3600)) ;;
    *m) echo $((10#${1%m} * 60)) ;;
    *s) echo $((10#${1%s})) ;;
    *) echo $((10#$1)) ;;
  esac
}
duration_arg=${1:-10m}
if ! [[ $duration_arg =~ ^[0-9]+[smh]?$ ]] || [ "$(to_seconds "$duration_arg")" -lt 30 ]; then
  echo "usage: scripts/soak.sh [DURATION]   (at least 30s; e.g. 90s, 10m, 1h)" >&2
  exit 2
fi
dur=$(to_seconds "$duration_arg")
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
load=${SOAK_LOAD:-0.8}
split=${SOAK_SPLIT:-1}
probe=$(to_seconds "${SOAK_PROBE:-10s}")
corpus_size=${SOAK_TOKENS:-1000}
server_cpu=${SOAK_SERVER_CPU:-0}
client_cpu=${SOAK_CLIENT_CPU:-1}

# Renewals: each token asks to be renewed after `refresh` seconds (about 6 renewals per token in
# the soak); it lives longer than the whole run.
refresh=$((dur / 6))
((refresh < 15)) && refresh=15
((refresh > 120)) && refresh=120
lifetime=$((dur + 1800))
rotate_every=60     # secret rotation
hup_every=45        # SIGHUP
roll_every=330      # signing-key rollover: tokend refetches keys for an unknown kid at most
                    # every 5 minutes, so a second rollover sooner would be a test of that limit
fault_every=$((dur / 12))
((fault_every < 6)) && fault_every=6
((fault_every > 30)) && fault_every=30
rss_every=$((dur / 10))
((rss_every < 5)) && rss_every=5
((rss_every > 30)) && rss_every=30
# The load runs this long before the measured interval (and the first RSS sample) starts:
# tokend's memory grows to its working size in the first seconds of load (threads, gRPC
# buffers for the calls in flight), which is not what the soak looks for.
warmup=$((dur / 10))
((warmup < 10)) && warmup=10
((warmup > 60)) && warmup=60

if [ -z "${SOAK_NO_BUILD:-}" ]; then
  "$root/scripts/install-deps.sh"
  [ -f "$build/build.ninja" ] ||
    nice cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  nice cmake --build "$build" --target tokend tokend-devidp tokend-loadgen tokend-bench-tokens \
    tokenctl >/dev/null
fi
for bin in service/tokend tests/devidp/tokend-devidp tests/bench/tokend-loadgen \
  tests/bench/tokend-bench-tokens client/tokenctl; do
  [ -x "$build/$bin" ] || { echo "soak: $build/$bin is missing" >&2; exit 1; }
done
build=$(cd "$build" && pwd)
pin_server=() pin_client=()
if [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c "$server_cpu")
  pin_client=(taskset -c "$client_cpu")
fi

work=$(mktemp -d /tmp/tokend-soak.XXXXXX)
pids=() # every process started here, stopped by cleanup
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" # nothing written elsewhere, even by mistake
trap 'exit 130' INT TERM
trap 'echo "soak: stopped by a failed command at line $LINENO: $BASH_COMMAND" >&2' ERR
log() { echo "soak: $*" >&2; }
maybe() { grep "$@" || true; } # grep, where finding nothing is no failure

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
new_secret() { head -c 18 /dev/urandom | base64 | tr '+/' 'xy'; } # 24 characters, URL-safe

# --- Identity provider: three applications in tenant 1. soak-a and soak-b are tokend's
# credentials; the minter only mints the ValidateToken corpus (its secret is a fixed test value).
tenant=11111111-1111-1111-1111-111111111111
client_a=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa
client_b=cccccccc-cccc-cccc-cccc-cccccccccccc
client_m=dddddddd-dddd-dddd-dddd-dddddddddddd
minter_secret=soak-minter-test-secret
defender=https://api.securitycenter.microsoft.com
test_api=api://tokend-test
secret_a=$(new_secret)
secret_b=$(new_secret)
printf '%s\n' "$secret_a" "$secret_b" "$minter_secret" >"$work/secrets.list"
app_json() { # client_id name secret
  printf '{"client_id":"%s","display_name":"%s","secrets":["%s"],"tenants":{"%s":{"roles":{' \
    "$1" "$2" "$3" "$tenant"
  printf '"%s":["AdvancedQuery.Read.All","Ti.ReadWrite"],"%s":["Test.Read"]}}}}' "$defender" \
    "$test_api"
}
{
  printf '{"tenants":[{"id":"%s","domains":["contoso.onmicrosoft.com"]}],\n' "$tenant"
  printf '"resources":[{"app_id":"fc780465-2017-40d4-a0c5-307022471b92","display_name":"WindowsDefenderATP","uris":["%s"],"access_token_version":1},\n' "$defender"
  printf '{"app_id":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb","display_name":"tokend-test-api","uris":["%s"],"access_token_version":2}],\n' "$test_api"
  printf '"apps":[%s,\n%s,\n%s]}\n' "$(app_json $client_a soak-a "$secret_a")" \
    "$(app_json $client_b soak-b "$secret_b")" "$(app_json $client_m soak-minter "$minter_secret")"
} >"$work/idp.json"
"$build/tests/devidp/tokend-devidp" --config "$work/idp.json" --token-lifetime "$lifetime" \
  --refresh-in "$refresh" --port-file "$work/idp.port" >"$work/idp.out" 2>"$work/idp.log" &
pids+=("$!")
for _ in $(seq 200); do [ -s "$work/idp.port" ] && break; sleep 0.05; done
[ -s "$work/idp.port" ] || { log "the identity provider did not start: $(cat "$work/idp.log")"; exit 1; }
idp="http://127.0.0.1:$(cat "$work/idp.port")"
admin() { # METHOD PATH [BODY_FILE]: the identity provider's admin API
  curl -sS --max-time 10 -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data-binary "@$3"} "$idp/_devidp/$2"
}

# --- Secret volumes, as the kubelet writes them (tests/testing/secrets_dir.h):
#   DIR/..2026_11_29_04_50_00.123456789/KEY, DIR/..data -> that folder, DIR/KEY -> ..data/KEY
write_version() { # dir client_id secret -> the new timestamped folder's name
  local v
  v="..$(date -u +%Y_%m_%d_%H_%M_%S.%N)"
  mkdir "$1/$v"
  printf '%s\n' "$tenant" >"$1/$v/tenant-id"
  printf '%s\n' "$2" >"$1/$v/client-id"
  printf '%s\n' "$3" >"$1/$v/client-secret"
  echo "$v"
}
mount_volume() { # dir client_id secret
  mkdir -p "$1"
  ln -s "$(write_version "$1" "$2" "$3")" "$1/..data"
  for key in tenant-id client-id client-secret; do ln -s "..data/$key" "$1/$key"; done
}
update_volume() { # dir client_id secret: the kubelet's atomic update
  local old v
  old=$(readlink "$1/..data")
  v=$(write_version "$1" "$2" "$3")
  ln -s "$v" "$1/..data_tmp"
  mv -T "$1/..data_tmp" "$1/..data" # rename(2) over the old link: the atomic step
  rm -rf "${1:?}/$old"
}
mount_volume "$work/secrets/soak-a" $client_a "$secret_a"
mount_volume "$work/secrets/soak-b" $client_b "$secret_b"

# --- tokend.
sock=$work/run/tokend.sock
mkdir -p "$work/run"
"${pin_server[@]}" "$build/service/tokend" --listen "unix://$sock" \
  --secrets-dir "$work/secrets" --authority-host "$idp" --audiences "$defender" \
  --metrics-listen 127.0.0.1:0 2>"$work/tokend.log" &
tokend_pid=$!
pids+=("$tokend_pid")
tokenctl() { "$build/client/tokenctl" --addr "unix://$sock" "$@"; }
for _ in $(seq 200); do tokenctl health >/dev/null 2>&1 && break; sleep 0.05; done
tokenctl health >/dev/null 2>&1 || { log "tokend is not SERVING"; exit 1; }
metrics_addr=$(grep -o '"msg":"serving metrics","address":"[^"]*"' "$work/tokend.log" |
  head -1 | cut -d'"' -f8)
[ -n "$metrics_addr" ] || { log "no metrics address in tokend's log"; exit 1; }
scrape() { curl -sS --max-time 10 "http://$metrics_addr/metrics"; }
# msum FILE NAME [LABEL="VALUE" ...]: the sum of NAME's series that carry every label given.
msum() {
  local file=$1 name=$2
  shift 2
  awk -v name="$name" -v filters="$*" '
    BEGIN { n = split(filters, want, " ") }
    /^#/ { next }
    {
      series = $1; base = series; sub(/\{.*/, "", base)
      if (base != name) next
      for (i = 1; i <= n; i++) if (index(series, want[i]) == 0) next
      total += $NF
    }
    END { printf "%.0f", total }' "$file"
}
# tokend's memory and CPU time; 0 once it is gone.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$tokend_pid/status" 2>/dev/null || echo 0; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$tokend_pid/status" 2>/dev/null || echo 0; }
thread_names() { # "name × count, ..." of tokend's threads
  cat "/proc/$tokend_pid/task/"*/comm 2>/dev/null | sort | uniq -c |
    awk '{ n = $1; $1 = ""; printf "%s%s × %d", (NR > 1 ? ", " : ""), substr($0, 2), n }'
}
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$tokend_pid/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$tokend_pid/stat" 2>/dev/null || echo 0; }
core_ticks() { # CORE: "BUSY TOTAL" clock ticks of that core since boot (busy includes steal)
  awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# The four cached tokens: each credential for Defender (v1 endpoint, resource) and the test API
# (v2 endpoint, scope).
{
  printf '{"credential":"soak-a","resource":"%s"}\n' "$defender"
  printf '{"credential":"soak-a","scopes":["%s/.default"]}\n' "$test_api"
  printf '{"credential":"soak-b","scopes":["%s/.default"]}\n' "$defender"
  printf '{"credential":"soak-b","resource":"%s"}\n' "$test_api"
} >"$work/get.jsonl"
while read -r line; do
  cred=$(echo "$line" | cut -d'"' -f4)
  if [[ $line == *resource* ]]; then
    target=(--resource "$(echo "$line" | cut -d'"' -f8)")
  else
    target=(--scope "$(echo "$line" | cut -d'"' -f8)")
  fi
  tokenctl get-token --credential "$cred" "${target[@]}" </dev/null >/dev/null ||
    { log "tokend gave no token for $line"; exit 1; }
done <"$work/get.jsonl"

# The ValidateToken corpus: distinct Defender tokens with a granted role, each verified once now
# (all must be valid), so that under load tokend answers from its memory of verified tokens.
log "minting $corpus_size tokens..."
"$build/tests/bench/tokend-bench-tokens" --idp "$idp" --client-id $client_m \
  --client-secret "$minter_secret" --resource "$defender" --role Ti.ReadWrite \
  --count "$corpus_size" --out "$work/validate.jsonl"
grep -o '"token":"[^"]*"' "$work/validate.jsonl" | cut -d'"' -f4 >"$work/tokens.list"
loadgen() { "${pin_client[@]}" "$build/tests/bench/tokend-loadgen" --target "unix://$sock" "$@"; }
field() { maybe -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2; }
first=$(loadgen --method ValidateToken --requests-file "$work/validate.jsonl" --each-once \
  --check-valid --concurrency 16 --json-only 2>/dev/null | tail -1)
if [ "$(echo "$first" | field invalid_answers)" != 0 ] || [[ $first != *'"errors":{}'* ]]; then
  log "the corpus did not validate: $first"
  exit 1
fi

# --- Highest rates: closed loop, one RPC at a time.
log "measuring the highest rates (${probe}s each)..."
loadgen --method GetToken --requests-file "$work/get.jsonl" --concurrency 16 \
  --duration "${probe}s" --warmup 2s --cpu-of-pid "$tokend_pid" --json-only 2>/dev/null |
  tail -1 >"$work/max_get.json"
loadgen --method ValidateToken --requests-file "$work/validate.jsonl" --concurrency 16 \
  --duration "${probe}s" --warmup 2s --cpu-of-pid "$tokend_pid" --json-only 2>/dev/null |
  tail -1 >"$work/max_validate.json"
max_get=$(field qps <"$work/max_get.json")
max_validate=$(field qps <"$work/max_validate.json")
share=$(awk -v l="$load" -v s="$split" 'BEGIN { print (s == 1 ? l / 2 : l) }')
rate_get=$(awk -v m="$max_get" -v s="$share" 'BEGIN { printf "%.0f", m * s }')
rate_validate=$(awk -v m="$max_validate" -v s="$share" 'BEGIN { printf "%.0f", m * s }')
((rate_get > 0 && rate_validate > 0)) || { log "no highest rate measured"; exit 1; }

# tokend's memory follows the most calls it ever held at once (gRPC's per-call buffers stay with
# the allocator): a stall under the open loop can put up to 2 × 128 calls in it. A few seconds
# with that many in flight before the load, so that the RSS baseline already includes them and
# RSS growth measures what the soak adds, not when the machine first stalled.
log "filling tokend with 256 calls in flight..."
loadgen --method GetToken --requests-file "$work/get.jsonl" --concurrency 128 --duration 3s \
  --warmup 0s --json-only >/dev/null 2>&1 &
fill_pid=$!
pids+=("$fill_pid")
loadgen --method ValidateToken --requests-file "$work/validate.jsonl" --concurrency 128 \
  --duration 3s --warmup 0s --json-only >/dev/null 2>&1
wait "$fill_pid"

# --- Background work during the measured interval. Each loop runs from t0 (ms) for `dur` s,
# logs "SECONDS KIND DETAIL" lines to events.log, and stops at once on SIGTERM.
events=$work/events.log
: >"$events"
event() { echo "$((($(now_ms) - t0) / 1000)) $*" >>"$events"; }
nap() { sleep "$1" & nap_pid=$!; wait $nap_pid || true; }
loop_setup() { nap_pid=; trap 'kill $nap_pid 2>/dev/null; exit 0' TERM; }
until_ms() { # sleep until t0 + $1 seconds; false if that is past the end
  local at=$((t0 + $1 * 1000)) now
  ((at < t0 + dur * 1000)) || return 1
  now=$(now_ms)
  ((at > now)) && nap "$(awk -v ms=$((at - now)) 'BEGIN { printf "%.3f", ms / 1000 }')"
  return 0
}

rss_loop() {
  loop_setup
  local t=0
  while until_ms $t; do
    echo "$t $(rss_kib) $(threads)" >>"$work/rss.tsv"
    t=$((t + rss_every))
  done
}

rotate_loop() { # every rotate_every s from 15 s: a new secret for soak-a, then soak-b, ...
  loop_setup
  local t=15 n=0 cred client old new dir reloads renewals start ms renewed
  while until_ms $t; do
    n=$((n + 1))
    if ((n % 2 == 1)); then cred=soak-a client=$client_a; else cred=soak-b client=$client_b; fi
    dir=$work/secrets/$cred
    old=$(sed -n 1p "$dir/client-secret")
    new=$(new_secret)
    printf '%s\n' "$new" >>"$work/secrets.list"
    printf '{"secret":"%s"}' "$new" >"$work/secret-body.json"
    t=$((t + rotate_every))
    if ! admin POST "apps/$client/secrets" "$work/secret-body.json" >/dev/null; then
      rm -f "$work/secret-body.json"
      event rotate-failed "$cred: the identity provider refused the new secret"
      continue
    fi
    rm -f "$work/secret-body.json"
    scrape >"$work/rot.prom" || true
    reloads=$(msum "$work/rot.prom" tokend_secret_reloads_total "credential=\"$cred\"")
    renewals=$(msum "$work/rot.prom" tokend_token_renewals_total "credential=\"$cred\"" \
      'outcome="success"')
    start=$(now_ms)
    update_volume "$dir" "$client" "$new"
    ms=timeout
    for _ in $(seq 100); do # tokend should notice within a second
      scrape >"$work/rot.prom" 2>/dev/null || true
      if (($(msum "$work/rot.prom" tokend_secret_reloads_total "credential=\"$cred\"") > reloads))
      then ms=$(($(now_ms) - start)); break; fi
      sleep 0.1
    done
    renewed=no
    for _ in $(seq 100); do # both tokens of the credential renewed with the new secret
      scrape >"$work/rot.prom" 2>/dev/null || true
      if (($(msum "$work/rot.prom" tokend_token_renewals_total "credential=\"$cred\"" \
        'outcome="success"') >= renewals + 2)); then
        renewed=$(($(now_ms) - start)); break
      fi
      sleep 0.2
    done
    # The old secret is retired at the identity provider: tokend must no longer need it.
    printf 'url = "%s/_devidp/apps/%s/secrets/%s"\n' "$idp" "$client" "$old" |
      curl -sS --max-time 10 -K - -X DELETE >/dev/null || true
    event rotate "$cred reload_ms=$ms renewed_ms=$renewed"
  done
}

fault_loop() { # every fault_every s from 5 s, the next fault of the cycle
  loop_setup
  local t=5 i=0 spec name
  local -a cycle=(
    '3 × 429 with Retry-After 3 s|{"endpoint":"token","kind":"status","status":429,"retry_after":3,"count":3}'
    '2 × 503|{"endpoint":"token","kind":"status","status":503,"count":2}'
    '3 × 2.5 s latency|{"endpoint":"any","kind":"latency","latency_ms":2500,"count":3}'
    'malformed JSON|{"endpoint":"token","kind":"malformed_json","count":1}'
    '500|{"endpoint":"token","kind":"status","status":500,"count":1}'
    'dropped connection|{"endpoint":"token","kind":"drop_connection","count":1}'
  )
  while until_ms $t; do
    name=${cycle[i % ${#cycle[@]}]%%|*}
    spec=${cycle[i % ${#cycle[@]}]#*|}
    printf '%s' "$spec" >"$work/fault.json"
    if admin POST faults "$work/fault.json" | grep -q '"ok":true'; then
      event fault "$name"
    else
      event fault-failed "$name"
    fi
    i=$((i + 1))
    t=$((t + fault_every))
  done
}

roll_loop() { # a signing-key rollover at a third of the soak, then every roll_every s
  loop_setup
  local t=$((dur / 3)) result
  while until_ms $t; do
    if admin POST rotate-keys <(printf '{"retire_old":false}') | grep -q '"kid"'; then
      # A token signed by the new key: tokend must fetch the key set again to validate it. The
      # minter's request goes to the same token endpoint: let tokend's renewals take the faults
      # queued for it first (up to 30 s), and retry.
      for _ in $(seq 30); do
        admin GET faults | grep -q '"endpoint":"\(token\|any\)"' || break
        nap 1
      done
      result="unchecked (no token from the identity provider)"
      for _ in $(seq 5); do
        "$build/tests/bench/tokend-bench-tokens" --idp "$idp" --client-id $client_m \
          --client-secret "$minter_secret" --resource "$defender" --count 1 \
          --out "$work/new-key.jsonl" 2>/dev/null && break
        nap 2
      done
      if [ -s "$work/new-key.jsonl" ]; then
        grep -o '"token":"[^"]*"' "$work/new-key.jsonl" | cut -d'"' -f4 >>"$work/tokens.list"
        if grep -o '"token":"[^"]*"' "$work/new-key.jsonl" | cut -d'"' -f4 |
          tokenctl validate --token - >"$work/new-key.out" 2>&1; then
          result=valid
        else
          result="not-valid:$(maybe -o '"failure": "[^"]*"' "$work/new-key.out" | cut -d'"' -f4)"
        fi
      fi
      event roll "new key; a token it signed: $result"
    else
      event roll-failed "the identity provider did not roll its keys"
    fi
    t=$((t + roll_every))
  done
}

hup_loop() {
  loop_setup
  local t=25
  while until_ms $t; do
    kill -HUP "$tokend_pid" && event hup ""
    t=$((t + hup_every))
  done
}

# --- The soak.
log "GetToken at $rate_get/s and ValidateToken at $rate_validate/s for ${dur}s..."
before_hup=$(grep -c '"msg":"reloading"' "$work/tokend.log" || true)
log_lines_before=$(wc -l <"$work/tokend.log")
rss_before=$(rss_kib)
launch=$(now_ms)
loadgen --method GetToken --requests-file "$work/get.jsonl" --rate "$rate_get" \
  --concurrency 128 --duration "${dur}s" --warmup "${warmup}s" --json-only \
  >"$work/soak_get.json" 2>"$work/soak_get.err" &
get_pid=$!
pids+=("$get_pid")
loadgen --method ValidateToken --requests-file "$work/validate.jsonl" --check-valid \
  --rate "$rate_validate" --concurrency 128 --duration "${dur}s" --warmup "${warmup}s" \
  --json-only >"$work/soak_validate.json" 2>"$work/soak_validate.err" &
validate_pid=$!
pids+=("$validate_pid")
t0=$((launch + warmup * 1000)) # the loadgens connect first (well under a second here)
sleep "$(awk -v ms=$((t0 - $(now_ms))) 'BEGIN { printf "%.3f", (ms > 0 ? ms : 0) / 1000 }')"
scrape >"$work/start.prom"
cpu_start=$(cpu_ticks)
threads_start=$(thread_names)
cores_start="$(core_ticks "$server_cpu") $(core_ticks "$client_cpu")"
admin GET counters >"$work/idp_start.json"
loop_pids=()
for f in rss_loop rotate_loop fault_loop roll_loop hup_loop; do
  $f &
  loop_pids+=("$!")
  pids+=("$!")
done
get_rc=0 validate_rc=0
wait $get_pid || get_rc=$?
wait $validate_pid || validate_rc=$?
elapsed=$((($(now_ms) - t0) / 1000)) # the measured interval and the calls in flight at its end
rss_end=$(rss_kib)
hwm=$(hwm_kib)
cpu_end=$(cpu_ticks)
threads_end=$(thread_names)
cores_end="$(core_ticks "$server_cpu") $(core_ticks "$client_cpu")"
log_lines_end=$(wc -l <"$work/tokend.log")
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$elapsed $rss_end $(threads)" >>"$work/rss.tsv"
scrape >"$work/end.prom" || true
admin GET counters >"$work/idp_end.json"
admin GET faults >"$work/faults_left.json"
for pid in "${loop_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
hups=$(($(grep -c '"msg":"reloading"' "$work/tokend.log" || true) - before_hup))
tokend_alive=NO
kill -0 "$tokend_pid" 2>/dev/null && tokend_alive=yes
# A clean exit on SIGTERM (0) ends the run; --shutdown-grace is 10 s.
if [ "$tokend_alive" = yes ]; then
  kill -TERM "$tokend_pid"
  for _ in $(seq 300); do kill -0 "$tokend_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$tokend_pid" 2>/dev/null && log "tokend did not stop within 30 s of SIGTERM"
fi
tokend_rc=0
wait "$tokend_pid" || tokend_rc=$? # also the status of a tokend that died during the run
keep=() # tokend is reaped: not to be signalled again
for pid in "${pids[@]}"; do [ "$pid" = "$tokend_pid" ] || keep+=("$pid"); done
pids=("${keep[@]}")

# --- The report.
delta() { # NAME [LABEL="VALUE" ...]: the change of a counter over the measured interval
  echo $(($(msum "$work/end.prom" "$@") - $(msum "$work/start.prom" "$@")))
}
idp_delta() {
  echo $(($(grep -o "\"$1\":[0-9]*" "$work/idp_end.json" | head -1 | cut -d: -f2) -
    $(grep -o "\"$1\":[0-9]*" "$work/idp_start.json" | head -1 | cut -d: -f2)))
}
errors_of() { # the loadgen's {"CODE":n} as "CODE n, ..." or 0
  local e
  e=$(maybe -o '"errors":{[^}]*}' "$1" | sed 's/"errors":{//; s/}$//; s/"//g; s/:/ /g; s/,/, /g')
  echo "${e:-0}"
}
error_total() { maybe -o '"errors":{[^}]*}' "$1" | maybe -o ':[0-9]*' | tr -d : |
  awk '{ s += $1 } END { print s + 0 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
server_errors() { # tokend's own count of non-OK answers of METHOD in the interval
  local m=$1 total=0 code
  for code in CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS \
    PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE \
    UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED; do
    total=$((total + $(delta tokend_grpc_requests_total "method=\"$m\"" "code=\"$code\"")))
  done
  echo $total
}
for f in soak_get soak_validate; do [ -s "$work/$f.json" ] || echo '{}' >"$work/$f.json"; done
get_errors=$(error_total "$work/soak_get.json")
validate_errors=$(error_total "$work/soak_validate.json")
invalid=$(field invalid_answers <"$work/soak_validate.json")
invalid=${invalid:-0}
[[ $invalid =~ ^[0-9]+$ ]] || invalid=0
get_calls=$(field calls <"$work/soak_get.json")
validate_calls=$(field calls <"$work/soak_validate.json")
rss_start=$(awk 'NR == 1 { print $2 }' "$work/rss.tsv")
rss_max=$(awk '$2 > m { m = $2 } END { print m }' "$work/rss.tsv")
growth=$(awk -v s="$rss_start" -v e="$rss_end" 'BEGIN { printf "%.1f", (s > 0 ? 100 * (e - s) / s : 100) }')
# The second half alone: a leak grows there too, a step at the start (the allocator keeping the
# most memory the calls in flight ever needed, in each of gRPC's threads) does not.
rss_mid=$(awk -v h=$((dur / 2)) '$1 <= h { m = $2 } END { print m + 0 }' "$work/rss.tsv")
growth_half=$(awk -v s="$rss_mid" -v e="$rss_end" 'BEGIN { printf "%.1f", (s > 0 ? 100 * (e - s) / s : 100) }')
tick=$(getconf CLK_TCK)
tokend_cpu=$(awk -v a="$cpu_start" -v b="$cpu_end" -v t="$tick" -v d="$elapsed" \
  'BEGIN { printf "%.0f", 100 * (b - a) / t / d }')
# How busy each core was, whoever used it: "SERVER_BUSY% CLIENT_BUSY%".
read -r sb st cb ct <<<"$cores_start"
read -r sb2 st2 cb2 ct2 <<<"$cores_end"
server_busy=$(awk -v b=$((sb2 - sb)) -v t=$((st2 - st)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }')
client_busy=$(awk -v b=$((cb2 - cb)) -v t=$((ct2 - ct)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }')
client_util=$(awk -v a="$(field client_cpu_util <"$work/soak_get.json")" \
  -v b="$(field client_cpu_util <"$work/soak_validate.json")" 'BEGIN { printf "%.0f", 100 * (a + b) }')
rotations=$(grep -c ' rotate ' "$events" || true)
list_of() { maybe ' rotate ' "$events" | maybe -o "$1=[0-9a-z]*" | cut -d= -f2 | paste -sd, - |
  sed 's/,/, /g'; }
reload_ms=$(list_of reload_ms)
renewed_ms=$(list_of renewed_ms)
faults=$(grep -c ' fault ' "$events" || true)
fault_kinds=$(maybe ' fault ' "$events" | cut -d' ' -f3- | sort | uniq -c |
  awk '{ n = $1; $1 = ""; printf "%s%s: %d", (NR > 1 ? "; " : ""), substr($0, 2), n }')
faults_left=$(maybe -o '"remaining":-\?[0-9]*' "$work/faults_left.json" | cut -d: -f2 |
  awk '{ s += $1 } END { print s + 0 }')
rolls=$(maybe ' roll ' "$events" | cut -d' ' -f3- | sed 's/^new key; //' | tr '\n' ';' |
  sed 's/;$//; s/;/; /g')
failed_events=$(grep -c -- '-failed ' "$events" || true)
token_age() { # credential: seconds since its oldest token in use was obtained (lifetime - left)
  echo $((lifetime - $(msum "$work/end.prom" tokend_token_min_seconds_until_expiry \
    "credential=\"$1\"")))
}
stalled=() # credentials whose renewals stopped: a token older than a renewal period and a minute
for cred in soak-a soak-b; do
  (($(token_age $cred) > refresh + 60)) && stalled+=("$cred")
done
renewal_row() { # credential
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" \
    "$(delta tokend_token_renewals_total "credential=\"$1\"" 'outcome="success"')" \
    "$(delta tokend_token_renewals_total "credential=\"$1\"" 'outcome="transient_failure"')" \
    "$(delta tokend_token_renewals_total "credential=\"$1\"" 'outcome="rejected"')" \
    "$(delta tokend_secret_reloads_total "credential=\"$1\"" 'result="success"') / $(delta tokend_secret_reloads_total "credential=\"$1\"" 'result="failure"')" \
    "$(token_age "$1")"
}
load_row() { # file name highest target invalid
  local f=$1
  printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s / %s | %s | %s |\n' "$2" "$3" "$4" \
    "$(field qps <"$f")" "$(field calls <"$f")" "$(errors_of "$f")" "$5" \
    "$(field p50_us <"$f")" "$(field p90_us <"$f")" "$(field p99_us <"$f")" \
    "$(field p999_us <"$f")" "$(field slot_waits <"$f")" "$(field client_cpu_util <"$f")"
}

report=$work/report.md
{
  echo "## tokend soak: ${dur} s ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "tokend (Release, \`$build\`) on CPU ${server_cpu}, both load generators on CPU ${client_cpu};"
  echo "$(nproc) cores, $(uname -m); load average when the script started: ${loadavg_start}."
  echo "Two credentials (soak-a, soak-b) mounted as Kubernetes Secrets, 4 cached tokens; the"
  echo "identity provider's tokens live ${lifetime} s and ask for renewal after ${refresh} s (\`refresh_in\`)."
  echo "Highest rates: closed loop, 16 concurrent calls, ${probe} s each, one RPC at a time."
  echo "Soak: both RPCs at once, open loop (\`tokend-loadgen --rate\`, at most 128 calls"
  if [ "$split" = 1 ]; then
    echo "outstanding), each at ${load} / 2 of its highest rate: together ~${load} of tokend's capacity."
  else
    echo "outstanding), each at ${load} of its highest rate (SOAK_SPLIT=0: together ~2 × ${load})."
  fi
  echo "ValidateToken: $corpus_size distinct valid tokens in turn, each verified once before."
  echo "The load ran ${warmup} s before the measured ${dur} s began (not counted)."
  echo
  echo "| RPC | highest rate /s | target /s | achieved /s | calls | errors by code | invalid answers | p50 / p90 / p99 / p99.9 µs | calls due while all slots busy | client CPU use |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  load_row "$work/soak_get.json" GetToken "$max_get" "$rate_get" "n/a"
  load_row "$work/soak_validate.json" ValidateToken "$max_validate" "$rate_validate" "$invalid"
  echo
  echo "tokend's own count of failed calls in the interval (\`tokend_grpc_requests_total\`, not OK):"
  echo "GetToken $(server_errors GetToken), ValidateToken $(server_errors ValidateToken)."
  echo "GetToken cache lookups: $(delta tokend_token_cache_requests_total 'result="hit"') hits, $(delta tokend_token_cache_requests_total 'result="miss"') misses (a miss waits for the identity provider)."
  echo "CPU ${server_cpu} was busy ${server_busy}% of the time, ${tokend_cpu} points of it tokend; CPU ${client_cpu} was busy ${client_busy}%, ${client_util} points of it"
  echo "the load generators (the rest: other processes; load average at the end: ${loadavg_end})."
  echo
  echo "### Memory (tokend VmRSS)"
  echo
  echo "| before the load (after 3 s with 256 calls in flight) | start (after the warm-up) | middle | end | max | growth start → end | growth middle → end | peak (VmHWM, whole run) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  echo "| $(mib "$rss_before") MiB | $(mib "$rss_start") MiB | $(mib "$rss_mid") MiB | $(mib "$rss_end") MiB | $(mib "$rss_max") MiB | ${growth}% | ${growth_half}% | $(mib "$hwm") MiB |"
  echo
  echo "Curve (s: MiB, threads): $(awk '{ printf "%s%d: %.1f, %d", (NR > 1 ? "; " : ""), $1, $2 / 1024, $3 }' "$work/rss.tsv")."
  echo "(A new thread gets its own malloc arena: a step up together with the thread count is more"
  echo "likely gRPC starting threads under load than a leak.) tokend's threads at the start:"
  echo "${threads_start:-?}; at the end: ${threads_end:-?}."
  echo
  echo "### Identity provider and credentials"
  echo
  echo "| credential | renewals: success | transient failure (retried) | rejected | secret reloads success / failure | age of its oldest token at the end, s |"
  echo "| --- | --- | --- | --- | --- | --- |"
  renewal_row soak-a
  renewal_row soak-b
  echo
  # shellcheck disable=SC2016 # the backquotes are Markdown
  printf 'Requests to the identity provider (`tokend_idp_requests_total`): token: ok %s, throttled %s,\n' \
    "$(delta tokend_idp_requests_total 'endpoint="token"' 'outcome="ok"')" \
    "$(delta tokend_idp_requests_total 'endpoint="token"' 'outcome="throttled"')"
  printf 'server error %s, transport error %s, client error %s; discovery and keys fetches: ok %s, failed %s, rejected %s.\n' \
    "$(delta tokend_idp_requests_total 'endpoint="token"' 'outcome="server_error"')" \
    "$(delta tokend_idp_requests_total 'endpoint="token"' 'outcome="transport_error"')" \
    "$(delta tokend_idp_requests_total 'endpoint="token"' 'outcome="client_error"')" \
    "$(delta tokend_key_fetches_total 'outcome="ok"')" \
    "$(delta tokend_key_fetches_total 'outcome="failed"')" \
    "$(delta tokend_key_fetches_total 'outcome="rejected"')"
  echo "The identity provider counted $(idp_delta token_requests) token requests, $(idp_delta token_errors) answered with an error or a fault."
  echo
  echo "### What happened meanwhile"
  echo
  echo "| event | count | detail |"
  echo "| --- | --- | --- |"
  echo "| client secret rotations (new secret at the IdP, \`..data\` swap, old secret deleted) | $rotations | every ${rotate_every} s from 15 s, soak-a and soak-b in turn; ms to tokend's reload: ${reload_ms:-none}; ms until both its tokens were renewed with the new secret: ${renewed_ms:-none} |"
  echo "| identity provider faults queued | $faults | ${fault_kinds:-none}; every ${fault_every} s from 5 s; $faults_left application(s) still queued at the end (no request came for them) |"
  echo "| signing-key rollovers | $(grep -c ' roll ' "$events" || true) | ${rolls:-none (the first comes at a third of the soak)} |"
  echo "| SIGHUP | $hups | every ${hup_every} s from 25 s (\"reloading\" lines in tokend's log) |"
  echo "| background actions that failed | $failed_events | $(maybe -- '-failed ' "$events" | cut -d' ' -f2- | tr '\n' ';') |"
  echo
  echo "Load generator exit codes: GetToken $get_rc, ValidateToken $validate_rc; tokend running at the end: $tokend_alive; its exit code (after SIGTERM if it was running): $tokend_rc (0 is a clean stop)."
  echo "Warnings and errors in tokend's log during the load (by message):"
  sed -n "$((log_lines_before + 1)),${log_lines_end}p" "$work/tokend.log" |
    { grep -o '"level":"\(warning\|error\)","msg":"[^"]*"' || true; } | cut -d'"' -f4,8 | sort | uniq -c |
    awk '{ n = $1; $1 = ""; split(substr($0, 2), p, "\""); printf "- %s \"%s\": %d\n", p[1], p[2], n }
      END { if (NR == 0) print "none." }'
  # Warnings about the run itself, not about tokend: a rate not held, or calls queued (more than
  # 1% found every slot busy).
  rates_held=yes
  for f in soak_get soak_validate; do
    if ! awk -v name="$([ $f = soak_get ] && echo GetToken || echo ValidateToken)" \
      -v target="$([ $f = soak_get ] && echo "$rate_get" || echo "$rate_validate")" \
      -v q="$(field qps <"$work/$f.json")" -v w="$(field slot_waits <"$work/$f.json")" \
      -v n="$(field calls <"$work/$f.json")" 'BEGIN {
        if (q + 0 >= 0.95 * target && w + 0 <= 0.01 * n) exit 0
        printf "\nNote (%s): %.0f/s achieved of %d/s; %d of %d calls found every slot busy: the load was\n", name, q, target, w, n
        printf "not held steadily (see how busy the cores were: on a shared machine, other processes; else\n"
        printf "lower SOAK_LOAD).\n"
        exit 1 }'; then
      rates_held=no
    fi
  done
  rejected=$(delta tokend_token_renewals_total 'outcome="rejected"')
  if [ "$rejected" != 0 ]; then
    echo
    echo "Note: $rejected token request(s) were rejected (a 4xx other than 429: see tokend's log). The"
    echo "injected faults are all transient; a rejection here most likely means a request signed with"
    echo "an old secret reached the identity provider after the soak had deleted that secret."
  fi
  for cred in "${stalled[@]}"; do
    echo
    echo "Note: the renewals of $cred stopped: one of its tokens was obtained $(token_age "$cred") s before"
    echo "the end, although tokens ask to be renewed every ${refresh} s (tokend_token_min_seconds_until_expiry)."
    echo "A renewal rejected by the identity provider schedules no further renewal; see tokend's log."
  done
  misses=$(delta tokend_token_cache_requests_total 'result="miss"')
  [ "$misses" = 0 ] || echo "
Note: $misses GetToken calls missed the cache and waited for the identity provider although every
token was valid: see tokend's log."
  rss_ok=$(awk -v g="$growth" 'BEGIN { print (g <= 5) ? 1 : 0 }')
  total_errors=$((get_errors + validate_errors + invalid))
  echo
  if [ "$total_errors" = 0 ] && [ "$rss_ok" = 1 ] && [ "$get_rc$validate_rc" = 00 ] &&
    [ -n "$get_calls" ] && [ -n "$validate_calls" ] && [ "$tokend_rc" = 0 ]; then
    echo "**PASS**: 0 failed calls and 0 invalid answers in $((get_calls + validate_calls)) calls; RSS growth ${growth}% (≤ 5%); tokend stopped cleanly.$([ "$rates_held" = yes ] || echo " But the load was not held steadily (note above): tokend was overloaded at times, not at ${load} of its capacity.")$([ ${#stalled[@]} = 0 ] || echo " But the renewals of ${stalled[*]} stopped (note above).")"
  else
    echo "**FAIL**: ${total_errors} failed calls or invalid answers (GetToken ${get_errors}, ValidateToken ${validate_errors}, invalid ${invalid}); RSS growth ${growth}% (limit 5%); load generators exited ${get_rc}/${validate_rc}; tokend running at the end: ${tokend_alive}, exit code on SIGTERM: ${tokend_rc}."
  fi
} >"$report"

# No secret and no token anywhere it could leak: tokend's log, the scrapes, the load generators'
# output, the events, the report.
leaks=$(cat "$work/tokend.log" "$work"/*.prom "$work"/soak_*.json "$work"/soak_*.err "$events" \
  "$report" | grep -c -F -f "$work/secrets.list" -f "$work/tokens.list" || true)
cat "$report"
echo
echo "Secrets and tokens found in tokend's log, the scrapes, the load generators' output and this report: ${leaks}."
[ "$leaks" = 0 ] || exit 1
grep -q '^\*\*PASS' "$report" || exit 1
