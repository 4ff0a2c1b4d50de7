# shellcheck shell=bash
# Shared by the tests/deploy scripts (sourced, not run). Each script prints one `ok` or `FAIL`
# line per check and closes with `NAME: N passed, M failed`; exit 0 all passed, 1 a check failed,
# 2 usage, 77 skipped (ctest's SKIP_RETURN_CODE).

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
# check DESCRIPTION COMMAND...: one check, passed iff COMMAND succeeds (its output is shown
# indented when it fails).
check() {
  local what=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  if [[ $rc -eq 0 ]]; then
    ok "$what"
  else
    bad "$what"
    printf '%s\n' "$out" | head -n 40 | sed 's/^/       /'
  fi
}
# finish NAME: the closing line and the exit status.
finish() {
  echo "$1: $PASS passed, $FAIL failed"
  [[ $FAIL -eq 0 ]]
}
skip() { echo "SKIPPED: $*"; exit 77; }

# need_node: skips the test without node (>= 20) and npm.
need_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    skip "node not found (node and npm are needed for the kubernetes-models schemas)"
  fi
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    skip "node $(node --version) is too old (20 or later is needed)"
}

# npm_install DIR: the npm project of tests/deploy (package.json, package-lock.json and
# validate.mjs) copied to DIR and installed there with `npm ci`, never in the source tree. Skips
# the test (77) when the registry cannot be reached; any other failure (a lockfile out of sync
# with package.json, a failed integrity check) fails it.
npm_install() {
  local dir=$1 here npm_rc=0
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  mkdir -p "$dir"
  cp "$here/package.json" "$here/package-lock.json" "$here/validate.mjs" "$dir/"
  local timeout=()
  if command -v timeout >/dev/null 2>&1; then timeout=(timeout 240); fi
  (cd "$dir" && "${timeout[@]}" npm ci --no-audit --no-fund --no-update-notifier --ignore-scripts \
    --prefer-offline --fetch-timeout=30000 --fetch-retries=1 >"$dir/npm.log" 2>&1) || npm_rc=$?
  if [[ $npm_rc -ne 0 ]]; then
    if [[ $npm_rc -eq 124 ]] ||
      grep -Eq 'code (ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ECONNABORTED)|npm (error|ERR!) network' \
        "$dir/npm.log"; then
      tail -n 20 "$dir/npm.log"
      skip "the npm registry is unreachable, so kubernetes-models could not be installed (npm ci exit $npm_rc)"
    fi
    cat "$dir/npm.log"
    echo "npm ci failed (exit $npm_rc) for a reason other than the network:" \
      "is tests/deploy/package-lock.json in sync with package.json?"
    exit 1
  fi
}
