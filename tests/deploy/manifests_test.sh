#!/usr/bin/env bash
# Every manifest in deploy/kubernetes against the Kubernetes API schemas (npm kubernetes-models,
# each kind's validate(), plus a check for fields the schema does not know), ServiceMonitor and
# PrometheusRule against prometheus-operator's (@kubernetes-models/prometheus-operator) and for
# their required fields, the security and tokend-specific rules of the workloads, the references
# between objects, and the PrometheusRule's rules: equal to deploy/prometheus/tokend-alerts.yaml
# and passing `promtool check rules` and `promtool test rules`. See validate.mjs.
#
# Usage: manifests_test.sh REPOSITORY_ROOT
# Exit: 0 passed, 1 failed, 2 usage, 77 skipped (no node/npm, or the npm registry unreachable).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/deploy/lib.sh
source "$HERE/lib.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 REPOSITORY_ROOT" >&2
  exit 2
fi
ROOT=$(cd "$1" && pwd)
need_node
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokend-deploy-manifests.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
npm_install "$WORK"
node "$WORK/validate.mjs" plain "$ROOT"
