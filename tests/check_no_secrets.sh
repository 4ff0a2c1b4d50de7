#!/usr/bin/env bash
# Fails if a test secret (tests/testing/test_secrets.txt) or anything shaped like a signed JWT
# appears in the given files: the captured output of the whole test suite (ctest's
# LastTest.log). Reports where, never what: the match itself is not printed.
# Usage: check_no_secrets.sh FILE...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secrets=$(grep -v '^#' "$here/testing/test_secrets.txt" | grep -v '^$')
jwt='eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}'
found=0
for file in "$@"; do
  [ -r "$file" ] || { echo "check_no_secrets: cannot read $file"; exit 2; }
  while IFS= read -r secret; do
    lines=$(grep -nF -- "$secret" "$file" | cut -d: -f1 | head -5 | tr '\n' ' ' || true)
    if [ -n "$lines" ]; then
      echo "check_no_secrets: a test secret (line $(grep -nxF -- "$secret" "$here/testing/test_secrets.txt" | cut -d: -f1) of test_secrets.txt) appears in $file at lines: $lines"
      found=1
    fi
  done <<<"$secrets"
  lines=$(grep -nE -- "$jwt" "$file" | cut -d: -f1 | head -5 | tr '\n' ' ' || true)
  if [ -n "$lines" ]; then
    echo "check_no_secrets: a signed JWT appears in $file at lines: $lines"
    found=1
  fi
done
if [ $found -ne 0 ]; then exit 1; fi
echo "check_no_secrets: no test secret or token in $*"
