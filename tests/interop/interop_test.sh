#!/usr/bin/env bash
# Interop test: the real tokend and tokenctl against oauth2-mock-server (npm), an OAuth 2.0
# implementation that shares no code with tokend or tests/devidp. See README.md beside this file.
#
# Usage: interop_test.sh PATH/TO/tokend PATH/TO/tokenctl
# Exit: 0 every check passed, 1 a check failed, 2 usage, 77 skipped (no node/npm, or the npm
# registry is unreachable).
#
# Nothing is written to the source tree: the npm project is copied to a temporary folder and
# installed there with `npm ci` (npm's own cache makes repeated runs fast and offline-capable).
# INTEROP_KEEP=1 keeps that folder (logs, secrets, node_modules) for a look afterwards.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PATH/TO/tokend PATH/TO/tokenctl" >&2
  exit 2
fi
TOKEND=$1
TOKENCTL=$2
for bin in "$TOKEND" "$TOKENCTL"; do
  if [[ ! -x $bin ]]; then
    echo "interop: $bin is not an executable" >&2
    exit 2
  fi
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node not found (node and npm are needed for oauth2-mock-server)"
  exit 77
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "SKIPPED: node $(node --version) is too old (oauth2-mock-server 8.2.3 needs >= 20.19)"
  exit 77
fi

TENANT=11111111-1111-1111-1111-111111111111
TENANT_DOMAIN=interop-test.onmicrosoft.com
UNKNOWN_TENANT=55555555-5555-5555-5555-555555555555
CLIENT_ID=33333333-3333-3333-3333-333333333333
UNKNOWN_CLIENT_ID=44444444-4444-4444-4444-444444444444
SCOPE=https://api.securitycenter.microsoft.com/.default
RESOURCE=https://api.securitycenter.microsoft.com
ROLES='["Event.Write","Ti.ReadWrite"]'  # sorted
# Secrets with characters a form encoder must escape (+ & = % / ? # and a space is not allowed by
# tokend's loader) around a distinctive core: the core is what the leak check looks for, so a
# secret that leaks percent-encoded or otherwise escaped is caught too.
GOOD_CORE="GoodSecretCore${RANDOM}${RANDOM}"
BAD_CORE="WrongSecretCore${RANDOM}${RANDOM}"
GOOD_SECRET="q8~${GOOD_CORE}.+/=&%?#_-"
BAD_SECRET="Wr~${BAD_CORE}.+/=&%_-"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokend-interop.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
IDP_PID=""
TOKEND_PID=""
PASS=0
FAIL=0

STOP_RC=0
stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 10 s; its exit status in STOP_RC.
  local pid=$1 i
  STOP_RC=0
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || STOP_RC=$?
}

dump_logs() {  # tokend's and the IdP's output (each check prints what it expected and got).
  local f
  for f in "$LOGS"/tokend-* "$LOGS"/idp-*; do
    [[ -s $f ]] || continue
    echo "----- ${f#"$WORK"/} (last 40 lines)"
    tail -n 40 "$f"
  done
  echo "-----"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$TOKEND_PID"
  stop_pid "$IDP_PID"
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then dump_logs; fi
  if [[ ${INTEROP_KEEP:-0} == 1 ]]; then
    echo "interop: kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() {  # check DESCRIPTION COMMAND...: one check, passed iff COMMAND succeeds.
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

# jget FILE EXPR: evaluates the JavaScript EXPR over the JSON in FILE (as `j`); strings print
# raw, anything else as JSON. Empty output when FILE is not JSON.
jget() {
  node -e '
    const fs = require("fs");
    let j;
    try { j = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { process.exit(0); }
    let v;
    try { v = new Function("j", "return (" + process.argv[2] + ");")(j); } catch { process.exit(0); }
    if (v !== undefined) process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}
# idp_log PHASE FILTER EXPR: EXPR over the array of the IdP's token_request lines that FILTER
# (a JavaScript predicate over `r`) accepts.
idp_log() {
  node -e '
    const fs = require("fs");
    const rows = fs.readFileSync(process.argv[1], "utf8").split("\n")
      .filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
      .filter((r) => r.event === "token_request")
      .filter(new Function("r", "return (" + process.argv[2] + ");"));
    const v = new Function("rows", "return (" + process.argv[3] + ");")(rows);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$LOGS/idp-$1.err" "$2" "$3"
}
eq() { [[ $1 == "$2" ]] || { echo "     expected [$2], got [$1]"; return 1; }; }
near() {  # near ACTUAL EXPECTED TOLERANCE (integers)
  local d=$(($1 - $2))
  ((d < 0)) && d=$((-d))
  ((d <= $3)) || { echo "     expected $2 +- $3, got $1"; return 1; }
}
epoch_of() { date -u -d "$1" +%s 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- install the independent peer
APP=$WORK/app
mkdir -p "$APP"
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/idp.mjs" "$HERE/verify_token.mjs" "$APP/"
echo "interop: npm ci (oauth2-mock-server) in $APP"
TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout 240); fi
npm_rc=0
(cd "$APP" && "${TIMEOUT[@]}" npm ci --no-audit --no-fund --no-update-notifier --ignore-scripts \
  --prefer-offline --fetch-timeout=30000 --fetch-retries=1 >"$WORK/npm.log" 2>&1) || npm_rc=$?
if [[ $npm_rc -ne 0 ]]; then
  if [[ $npm_rc -eq 124 ]] ||
    grep -Eq 'code (ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ECONNABORTED)|npm (error|ERR!) network' \
      "$WORK/npm.log"; then
    tail -n 20 "$WORK/npm.log"
    echo "SKIPPED: the npm registry is unreachable, so oauth2-mock-server could not be installed" \
      "(npm ci exit $npm_rc; see the npm output above)"
    exit 77
  fi
  cat "$WORK/npm.log"
  echo "interop: npm ci failed (exit $npm_rc) for a reason other than the network:" \
    "is tests/interop/package-lock.json in sync with package.json?"
  exit 1
fi
echo "interop: oauth2-mock-server $(node -p 'require(process.argv[1]).version' \
  "$APP/node_modules/oauth2-mock-server/package.json"), node $(node --version)"

# ---------------------------------------------------------------- credentials, as Secrets mount
SECRETS=$WORK/secrets
write_credential() {  # write_credential NAME TENANT CLIENT_ID SECRET
  mkdir -p "$SECRETS/$1"
  printf '%s' "$2" >"$SECRETS/$1/tenant-id"
  printf '%s' "$3" >"$SECRETS/$1/client-id"
  printf '%s' "$4" >"$SECRETS/$1/client-secret"
  chmod 0600 "$SECRETS/$1"/*
}
write_credential interop "$TENANT" "$CLIENT_ID" "$GOOD_SECRET"
write_credential wrong-secret "$TENANT" "$CLIENT_ID" "$BAD_SECRET"
write_credential unknown-app "$TENANT" "$UNKNOWN_CLIENT_ID" "$GOOD_SECRET"
write_credential by-domain "$TENANT_DOMAIN" "$CLIENT_ID" "$GOOD_SECRET"
write_credential unknown-tenant "$UNKNOWN_TENANT" "$CLIENT_ID" "$GOOD_SECRET"

# ---------------------------------------------------------------- processes
IDP_URL=""
ADDR=""
start_idp() {  # start_idp PHASE MODE
  INTEROP_TENANT_ID=$TENANT INTEROP_TENANT_DOMAIN=$TENANT_DOMAIN INTEROP_CLIENT_ID=$CLIENT_ID INTEROP_CLIENT_SECRET=$GOOD_SECRET \
    INTEROP_MODE=$2 node "$APP/idp.mjs" >"$LOGS/idp-$1.out" 2>"$LOGS/idp-$1.err" &
  IDP_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    IDP_URL=$(jget "$LOGS/idp-$1.out" 'j.url')
    [[ -n $IDP_URL ]] && return 0
    kill -0 "$IDP_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "interop: idp.mjs did not start"
  return 1
}
start_tokend() {  # start_tokend PHASE
  ADDR="unix://$WORK/tokend-$1.sock"
  "$TOKEND" --listen "$ADDR" --secrets-dir "$SECRETS" --authority-host "$IDP_URL" \
    --log-level debug --shutdown-grace 2s >"$LOGS/tokend-$1.out" 2>"$LOGS/tokend-$1.err" &
  TOKEND_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    if "$TOKENCTL" --addr "$ADDR" --timeout 1s health >/dev/null 2>&1; then return 0; fi
    kill -0 "$TOKEND_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "interop: tokend did not report SERVING"
  return 1
}
stop_phase() {  # stop_phase PHASE: stops tokend (must exit 0) and the IdP.
  stop_pid "$TOKEND_PID"
  TOKEND_PID=""
  check "[$1] tokend exits 0 on SIGTERM" eq "$STOP_RC" 0
  stop_pid "$IDP_PID"
  IDP_PID=""
}

RC=0
ctl() {  # ctl NAME ARGS...: runs tokenctl, output in $LOGS/ctl-NAME.{out,err}, exit code in RC.
  local name=$1
  shift
  RC=0
  "$TOKENCTL" --addr "$ADDR" --timeout 10s "$@" >"$LOGS/ctl-$name.out" 2>"$LOGS/ctl-$name.err" ||
    RC=$?
}
out() { echo "$LOGS/ctl-$1.out"; }

verify_jwt() {  # verify_jwt NAME AUDIENCE VER: jose checks the token tokenctl printed in NAME.
  jget "$(out "$1")" 'j.access_token' |
    node "$APP/verify_token.mjs" "$IDP_URL" "$2" >"$LOGS/jose-$1.out" 2>"$LOGS/jose-$1.err" ||
    { cat "$LOGS/jose-$1.err"; return 1; }
  eq "$(jget "$LOGS/jose-$1.out" '[j.payload.tid, j.payload.ver, j.payload.roles.slice().sort()]')" \
    "[\"$TENANT\",\"$3\",$ROLES]"
}
sha_of_token() { jget "$(out "$1")" 'j.access_token' | sha256sum | cut -d' ' -f1; }
# expect_token NAME PHASE: the common checks of a token tokenctl printed, fetched at epoch $2.
expect_token() {
  local name=$1 phase=$2 t0=$3
  check "[$phase] $name: tokenctl exit 0" eq "$RC" 0
  check "[$phase] $name: roles are the IdP's" eq "$(jget "$(out "$name")" 'j.roles.slice().sort()')" "$ROLES"
  check "[$phase] $name: tenant_id is the token's tid" eq "$(jget "$(out "$name")" 'j.tenant_id')" "$TENANT"
  check "[$phase] $name: token_type Bearer" eq "$(jget "$(out "$name")" 'j.token_type')" Bearer
  check "[$phase] $name: expires_at is 1 h ahead (+-60 s)" \
    near "$(epoch_of "$(jget "$(out "$name")" 'j.expires_at')")" $((t0 + 3600)) 60
}

# ================================================================ phase 1: Entra v2/v1 shapes
P="default"
start_idp $P ""
echo "interop: [$P] oauth2-mock-server at $IDP_URL"
check "[$P] tokend starts against the IdP and reports SERVING" start_tokend $P

t0=$(date +%s)
ctl v2-first get-token --credential interop --scope "$SCOPE"
expect_token v2-first $P "$t0"
check "[$P] v2-first: from_cache false" eq "$(jget "$(out v2-first)" 'j.from_cache')" false
check "[$P] IdP saw one v2 POST at /$TENANT/oauth2/v2.0/token with the scope" \
  eq "$(idp_log $P 'r.version === "v2"' 'rows.map((r) => [r.path, r.scope, r.resource ?? null, r.client_id])')" \
  "[[\"/$TENANT/oauth2/v2.0/token\",\"$SCOPE\",null,\"$CLIENT_ID\"]]"
check "[$P] IdP received the client secret intact (form encoding of + & = % / ? # ~)" \
  eq "$(idp_log $P 'r.version === "v2"' 'rows.map((r) => [r.secret_ok, r.status])')" '[[true,200]]'
check "[$P] v2-first: the token is byte for byte the one the IdP issued" \
  eq "$(sha_of_token v2-first)" "$(idp_log $P 'r.version === "v2"' 'rows[0].token_sha256')"
check "[$P] v2-first: the token verifies with jose against the IdP's /jwks" \
  verify_jwt v2-first "$RESOURCE" 2.0

ctl v2-second get-token --credential interop --scope "$SCOPE"
check "[$P] v2-second: tokenctl exit 0" eq "$RC" 0
check "[$P] v2-second: from_cache true" eq "$(jget "$(out v2-second)" 'j.from_cache')" true
check "[$P] v2-second: same token as the first" \
  eq "$(sha_of_token v2-second)" "$(sha_of_token v2-first)"

ctl v2-watch watch --credential interop --scope "$SCOPE" --count 1
check "[$P] watch --count 1: exit 0, one line with the cached token" \
  eq "$RC:$(wc -l <"$(out v2-watch)"):$(head -n1 "$(out v2-watch)" | jget /dev/stdin 'j.access_token' | sha256sum | cut -d' ' -f1)" \
  "0:1:$(sha_of_token v2-first)"
check "[$P] the cache hits and the watch caused no second v2 request" \
  eq "$(idp_log $P 'r.version === "v2"' 'rows.length')" 1

t0=$(date +%s)
ctl v1-first get-token --credential interop --resource "$RESOURCE"
expect_token v1-first $P "$t0"
check "[$P] IdP saw one v1 POST at /$TENANT/oauth2/token with the resource" \
  eq "$(idp_log $P 'r.version === "v1"' 'rows.map((r) => [r.path, r.resource, r.scope ?? null, r.secret_ok, r.status])')" \
  "[[\"/$TENANT/oauth2/token\",\"$RESOURCE\",null,true,200]]"
check "[$P] v1-first: the token verifies with jose against the IdP's /jwks" \
  verify_jwt v1-first "$RESOURCE" 1.0

ctl wrong-1 get-token --credential wrong-secret --scope "$SCOPE"
check "[$P] wrong secret: tokenctl exit 3" eq "$RC" 3
check "[$P] wrong secret: FAILED_PRECONDITION, AADSTS7000215, invalid_client" \
  eq "$(jget "$(out wrong-1)" '[j.error.code, j.error.reason, j.error.error]')" \
  '["FAILED_PRECONDITION","AADSTS7000215","invalid_client"]'
check "[$P] wrong secret: the IdP's trace_id reaches the caller" \
  eq "$(jget "$(out wrong-1)" 'j.error.trace_id')" \
  "$(idp_log $P 'r.status === 401' 'rows[0].trace_id')"
ctl wrong-2 get-token --credential wrong-secret --scope "$SCOPE"
check "[$P] wrong secret again: FAILED_PRECONDITION from memory, no second request to the IdP" \
  eq "$RC:$(jget "$(out wrong-2)" 'j.error.code'):$(idp_log $P 'r.status === 401' 'rows.length')" \
  "3:FAILED_PRECONDITION:1"

ctl unknown-app get-token --credential unknown-app --scope "$SCOPE"
check "[$P] app not in tenant: exit 3, FAILED_PRECONDITION, AADSTS700016" \
  eq "$RC:$(jget "$(out unknown-app)" '[j.error.code, j.error.reason]')" \
  '3:["FAILED_PRECONDITION","AADSTS700016"]'
check "[$P] app not in tenant: the error carries a consent link for that app" \
  eq "$(jget "$(out unknown-app)" 'String(j.error.consent_url ?? "").includes("client_id='"$UNKNOWN_CLIENT_ID"'")')" true

ctl unknown-tenant get-token --credential unknown-tenant --scope "$SCOPE"
check "[$P] unknown tenant: exit 3, FAILED_PRECONDITION, AADSTS90002" \
  eq "$RC:$(jget "$(out unknown-tenant)" '[j.error.code, j.error.reason]')" \
  '3:["FAILED_PRECONDITION","AADSTS90002"]'

# A credential naming its tenant by domain: tenant_id must be the token's tid (the GUID).
ctl by-domain get-token --credential by-domain --scope "$SCOPE"
check "[$P] tenant by domain: exit 0, tenant_id is the tid GUID, not the domain" \
  eq "$RC:$(jget "$(out by-domain)" 'j.tenant_id')" "0:$TENANT"
check "[$P] tenant by domain: IdP saw /$TENANT_DOMAIN/oauth2/v2.0/token" \
  eq "$(idp_log $P 'r.tenant === "'"$TENANT_DOMAIN"'"' 'rows.map((r) => [r.path, r.status])')" \
  "[[\"/$TENANT_DOMAIN/oauth2/v2.0/token\",200]]"
stop_phase $P

# ================================================================ phase 2: numbers as strings
P="strings"
start_idp $P strings
echo "interop: [$P] oauth2-mock-server at $IDP_URL (expires_in etc. as numeric strings)"
check "[$P] tokend starts against the IdP and reports SERVING" start_tokend $P
t0=$(date +%s)
ctl s-v2 get-token --credential interop --scope "$SCOPE"
expect_token s-v2 $P "$t0"
check "[$P] s-v2: the token verifies with jose" verify_jwt s-v2 "$RESOURCE" 2.0
t0=$(date +%s)
ctl s-v1 get-token --credential interop --resource "$RESOURCE"
expect_token s-v1 $P "$t0"
check "[$P] s-v1: the token verifies with jose" verify_jwt s-v1 "$RESOURCE" 1.0
check "[$P] the IdP answered 200 with string numbers to both requests" \
  eq "$(idp_log $P 'true' 'rows.map((r) => [r.version, r.mode, r.status])')" \
  '[["v2","strings",200],["v1","strings",200]]'
stop_phase $P

# ================================================================ phase 3: the IdP rejects all
P="error"
start_idp $P error
echo "interop: [$P] oauth2-mock-server at $IDP_URL (every token request: 401 invalid_client)"
check "[$P] tokend starts against the IdP and reports SERVING" start_tokend $P
ctl e-v2 get-token --credential interop --scope "$SCOPE"
check "[$P] 401 invalid_client: exit 3, FAILED_PRECONDITION, AADSTS7000215" \
  eq "$RC:$(jget "$(out e-v2)" '[j.error.code, j.error.reason]')" \
  '3:["FAILED_PRECONDITION","AADSTS7000215"]'
check "[$P] the message says what to fix" \
  eq "$(jget "$(out e-v2)" '/client secret/.test(j.error.message)')" true
stop_phase $P

# ================================================================ nothing leaked
# Every stdout and stderr of tokend (log level debug), tokenctl and the IdP.
leaks() {  # leaks NEEDLE: lists the files under $LOGS that contain NEEDLE.
  grep -rlF -- "$1" "$LOGS" || true
}
check "no output holds the good secret (or its core)" \
  eq "$(leaks "$GOOD_SECRET")$(leaks "$GOOD_CORE")" ""
check "no output holds the wrong secret (or its core)" \
  eq "$(leaks "$BAD_SECRET")$(leaks "$BAD_CORE")" ""
token_sigs_in_tokend_logs() {
  local name sig
  for name in v2-first v1-first s-v2 s-v1; do
    sig=$(jget "$(out "$name")" 'j.access_token.split(".")[2]')
    [[ -n $sig ]] || continue
    grep -lF -- "$sig" "$LOGS"/tokend-* || true
  done
}
check "tokend's logs hold no access token" eq "$(token_sigs_in_tokend_logs)" ""

echo "interop: $PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
