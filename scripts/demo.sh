#!/usr/bin/env bash
# The tokend demo: installs what is missing, builds, starts the local development identity
# provider and tokend (on a Unix socket in a temporary folder, with a credential laid out as a
# Kubernetes Secret mount), then shows what tokend answers: health, an access token for
# Microsoft Defender for Endpoint (shortened), its validation, and an admin-consent link.
# Stops both at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TOKEND_BUILD_DIR:-$root/build}/release

"$root/scripts/install-deps.sh"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target tokend tokenctl tokend-devidp

work=$(mktemp -d /tmp/tokend-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting the development identity provider"
"$build/tests/devidp/tokend-devidp" --port-file "$work/idp.port" >"$work/idp.out" 2>"$work/idp.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/idp.port" ] && break; sleep 0.05; done
idp="http://127.0.0.1:$(cat "$work/idp.port")"
echo "identity provider at $idp"

say "Writing a credential as a mounted Kubernetes Secret (secrets/defender)"
cred="$work/secrets/defender"
data="$cred/..2026_01_01_00_00_00.000000001"
mkdir -p "$data"
printf '11111111-1111-1111-1111-111111111111\n' >"$data/tenant-id"
printf 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n' >"$data/client-id"
printf 'dev-secret-1\n' >"$data/client-secret"
ln -s "$(basename "$data")" "$cred/..data"
for key in tenant-id client-id client-secret; do ln -s "..data/$key" "$cred/$key"; done
ls -la "$cred"

say "Starting tokend"
sock="$work/run/tokend.sock"
"$build/service/tokend" --listen "unix://$sock" --secrets-dir "$work/secrets" \
  --authority-host "$idp" --audiences https://api.securitycenter.microsoft.com \
  2>"$work/tokend.log" &
pids+=($!)
tokenctl() { "$build/client/tokenctl" --addr "unix://$sock" "$@"; }
for _ in $(seq 100); do tokenctl health >/dev/null 2>&1 && break; sleep 0.05; done

say "tokenctl health"
tokenctl health

say "tokenctl get-token --resource https://api.securitycenter.microsoft.com (token shortened)"
tokenctl get-token --resource https://api.securitycenter.microsoft.com |
  sed -E 's/("access_token": "[^"]{24})[^"]*"/\1..."/'

say "The same call again: served from memory"
tokenctl get-token --resource https://api.securitycenter.microsoft.com >"$work/token.json"
grep from_cache "$work/token.json"

say "tokenctl validate --role Ti.ReadWrite (the token read from stdin)"
sed -n 's/.*"access_token": "\([^"]*\)".*/\1/p' "$work/token.json" |
  tokenctl validate --token - --role Ti.ReadWrite

say "The same token, requiring a role the app was not granted (exit 1: not valid)"
sed -n 's/.*"access_token": "\([^"]*\)".*/\1/p' "$work/token.json" |
  tokenctl validate --token - --role Machine.Isolate | grep -E '"(valid|failure)"|Machine' || true

say "tokenctl consent-url --tenant contoso.onmicrosoft.com --kind v1-admin-consent"
tokenctl consent-url --tenant contoso.onmicrosoft.com --kind v1-admin-consent

say "tokend's log (JSON, one event a line; no secret, no token)"
cat "$work/tokend.log"
