#!/usr/bin/env bash
# check_no_secrets.sh passes a clean log, and catches a planted secret and a planted JWT
# without printing either.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
secret=$(grep -v '^#' "$here/testing/test_secrets.txt" | grep -v '^$' | head -1)
jwt="eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGk6Ly94In0.$(printf 'A%.0s' $(seq 40))"
printf 'ok line\n[ RUN ] Foo.Bar\n' >"$dir/clean.log"
printf 'line one\nclient_secret=%s&x=1\n' "$secret" >"$dir/secret.log"
printf 'Authorization: Bearer %s\n' "$jwt" >"$dir/jwt.log"

"$here/check_no_secrets.sh" "$dir/clean.log" >/dev/null || { echo "FAIL: a clean log was flagged"; exit 1; }
for bad in secret jwt; do
  status=0
  out=$("$here/check_no_secrets.sh" "$dir/clean.log" "$dir/$bad.log") || status=$?
  [ $status -eq 1 ] || { echo "FAIL: the planted $bad was not caught (exit $status)"; exit 1; }
  grep -q "$bad.log at lines: [12]" <<<"$out" || { echo "FAIL: no location for the $bad"; exit 1; }
  if grep -qF -- "$secret" <<<"$out" || grep -qF -- "$jwt" <<<"$out"; then
    echo "FAIL: the checker printed what it found"
    exit 1
  fi
done
echo PASS
