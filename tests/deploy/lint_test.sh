#!/usr/bin/env bash
# yamllint on deploy/ and the Helm charts' YAML (not their templates), with deploy/.yamllint.yaml;
# promtool on the alert rules: `check rules` and the unit tests `test rules`.
#
# Usage: lint_test.sh REPOSITORY_ROOT
# Exit: 0 passed, 1 failed, 2 usage, 77 skipped (yamllint or promtool missing: scripts/install-deps.sh
# installs both).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/deploy/lib.sh
source "$HERE/lib.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 REPOSITORY_ROOT" >&2
  exit 2
fi
ROOT=$1
command -v yamllint >/dev/null 2>&1 || skip "yamllint not found (scripts/install-deps.sh installs it)"
command -v promtool >/dev/null 2>&1 || skip "promtool not found (Debian's prometheus package; scripts/install-deps.sh installs it)"
cd "$ROOT"

# Warnings fail too (--strict).
check "yamllint deploy/ (manifests, rules, their tests)" \
  yamllint --strict -c deploy/.yamllint.yaml deploy
check "yamllint the Helm charts' Chart.yaml and values.yaml" \
  yamllint --strict -c deploy/.yamllint.yaml helm/tokend/Chart.yaml helm/tokend/values.yaml \
  helm/examples/example-app/Chart.yaml helm/examples/example-app/values.yaml
check "promtool check rules deploy/prometheus/tokend-alerts.yaml" \
  promtool check rules deploy/prometheus/tokend-alerts.yaml
check "promtool test rules deploy/prometheus/tokend-alerts.test.yaml (each alert fires on a failure, not on healthy series)" \
  promtool test rules deploy/prometheus/tokend-alerts.test.yaml
check "promtool check rules helm/tokend/files/tokend-alerts.yaml" \
  promtool check rules helm/tokend/files/tokend-alerts.yaml

finish "deploy lint"
