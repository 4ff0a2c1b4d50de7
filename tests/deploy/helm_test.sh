#!/usr/bin/env bash
# The Helm chart. Without helm: values.yaml against values.schema.json (and bad values rejected),
# every .Values path the templates read exists, the README's values table covers the values, one
# version everywhere, the chart's copy of the alert rules is current. With `helm` on PATH, also:
# `helm lint --strict`, and `helm template` output through the same schema and policy validation as
# the plain manifests, compared with them: the defaults must render deploy/kubernetes/standalone,
# with monitoring on also the ServiceMonitor and PrometheusRule, and helm/examples/example-app
# (which includes the tokend.sidecar template) deploy/kubernetes/sidecar/deployment.yaml.
#
# Usage: helm_test.sh REPOSITORY_ROOT
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
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokend-deploy-helm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
npm_install "$WORK"
V=$WORK/validate.mjs
K=$ROOT/deploy/kubernetes

# node validate.mjs prints its own ok/FAIL lines; each run counts as one check here.
run() {  # run DESCRIPTION ARGS...: validate.mjs ARGS, its output shown.
  local what=$1 rc=0
  shift
  node "$V" "$@" | sed 's/^/  /' || rc=$?
  if [[ $rc -eq 0 ]]; then ok "$what"; else bad "$what"; fi
}

run "the chart's values, schema, README table, versions and rules copy" chart "$ROOT"

if ! command -v helm >/dev/null 2>&1; then
  echo "SKIP helm not found: helm lint, helm template and the comparison with deploy/kubernetes were not run"
  finish "deploy helm"
  exit $?
fi
echo "helm: $(helm version --short 2>/dev/null || helm version)"
export HELM_CACHE_HOME=$WORK/helm-cache HELM_CONFIG_HOME=$WORK/helm-config HELM_DATA_HOME=$WORK/helm-data

check "helm lint --strict helm/tokend" helm lint --strict "$ROOT/helm/tokend"
check "helm lint --strict helm/tokend (monitoring on, sidecar-only)" helm lint --strict "$ROOT/helm/tokend" \
  --set metrics.serviceMonitor.enabled=true,prometheusRule.enabled=true,standalone.enabled=false

# render NAME ARGS...: helm template into $WORK/NAME.yaml.
render() {
  local name=$1
  shift
  helm template "$@" >"$WORK/$name.yaml" 2>"$WORK/$name.err" || { cat "$WORK/$name.err"; return 1; }
}

check "helm template with the defaults" render default tokend "$ROOT/helm/tokend"
run "default render: valid objects" rendered "$ROOT" "helm template (defaults)" "$WORK/default.yaml" defender
run "default render == deploy/kubernetes/standalone" compare "helm template (defaults)" "$WORK/default.yaml" "*" "$K"/standalone/*.yaml

check "helm template with ServiceMonitor and PrometheusRule" render monitoring tokend "$ROOT/helm/tokend" \
  --set metrics.serviceMonitor.enabled=true,prometheusRule.enabled=true
run "monitoring render: valid objects" rendered "$ROOT" "helm template (monitoring)" "$WORK/monitoring.yaml" defender
run "monitoring render == standalone + its ServiceMonitor + the PrometheusRule" compare "helm template (monitoring)" \
  "$WORK/monitoring.yaml" "*" "$K"/standalone/*.yaml "$K/monitoring/servicemonitor-standalone.yaml" "$K/monitoring/prometheusrule.yaml"

# The credential Secret `defender` is made beforehand with kubectl (the chart does not create it by
# default): the `rendered` runs name it as existing.

# Other values: not compared, but valid (schema, policy, references).
cat >"$WORK/custom-values.yaml" <<'VALUES'
credentials:
  - name: defender
    create: true
    tenantId: 11111111-1111-1111-1111-111111111111
    clientId: 22222222-2222-2222-2222-222222222222
    clientSecret: not-a-real-secret
  - name: other-tenant
    secretName: tokend-other
    authorityHost: https://login.microsoftonline.us
config:
  allowedTenants: ["*"]
  audiences: ["api://tokend-test"]
extraArgs: ["--clock-skew=2m"]
extraEnv:
  - name: HTTPS_PROXY
    value: http://proxy.example:3128
standalone:
  tls:
    clientCA: true
    allowedClients: ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc"]
    refreshInterval: 30s
  autoscaling: {enabled: false}
  replicas: 3
  networkPolicy: {enabled: false}
  serviceAccount: {create: false}
  podAnnotations: {example.com/team: identity}
policy:
  rules:
    - name: defender-reader
      callers: ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc"]
      credentials: ["defender"]
      tenants: ["*"]
      scopes: ["https://api.securitycenter.microsoft.com/.default"]
      resources: ["https://api.securitycenter.microsoft.com"]
    - name: operators
      callers: ["unix"]
      credentials: ["*"]
      tenants: ["*"]
      scopes: ["*"]
      resources: ["*"]
VALUES
check "helm template with custom values" render custom my-release "$ROOT/helm/tokend" -f "$WORK/custom-values.yaml"
# The Secret tokend-other would be made beforehand, like defender.
run "custom render: valid objects" rendered "$ROOT" "helm template (custom values)" "$WORK/custom.yaml" tokend-other
# The policy and the allowed clients reach tokend, and a changed policy changes the pod template.
render_has() {  # render_has FILE STRING...: each STRING is in FILE.
  local file=$1 want rc=0
  shift
  for want in "$@"; do
    grep -qF -- "$want" "$file" || { echo "not in $(basename "$file"): $want"; rc=1; }
  done
  return $rc
}
check "custom render: --policy, its ConfigMap and checksum, --tls-allowed-clients, --tls-refresh-interval" \
  render_has "$WORK/custom.yaml" "- --policy=/etc/tokend/policy/policy.json" "name: my-release-tokend-policy" \
  "checksum/policy: " '"name": "defender-reader"' "--tls-refresh-interval=30s" \
  "--tls-allowed-clients=uri:spiffe://cluster.local/ns/sec/sa/reader,dns:reader.sec.svc"
policy_checksum() {  # policy_checksum VALUES_FILE: the checksum/policy annotation of that render.
  helm template my-release "$ROOT/helm/tokend" -f "$1" | sed -n 's/^ *checksum\/policy: //p'
}
sed 's/- name: operators/- name: operators-changed/' "$WORK/custom-values.yaml" >"$WORK/custom-values-changed.yaml"
check "a changed policy changes the checksum/policy annotation (the pods roll)" \
  test "$(policy_checksum "$WORK/custom-values.yaml")" != "$(policy_checksum "$WORK/custom-values-changed.yaml")"

# What the chart must refuse, with a message saying why.
render_fails() {  # render_fails MESSAGE ARGS...: helm template ARGS fails, saying MESSAGE.
  local want=$1 out
  shift
  if out=$(helm template "$@" 2>&1); then
    echo "helm template $* succeeded"
    return 1
  fi
  grep -qF -- "$want" <<<"$out" || { echo "$out"; echo "(expected: $want)"; return 1; }
}
check "helm template refuses standalone.tls.allowedClients without clientCA" \
  render_fails "clientCA" tokend "$ROOT/helm/tokend" --set 'standalone.tls.allowedClients={dns:reader.sec.svc}'
check "helm template refuses a policy with standalone.enabled=false" \
  render_fails "policy works with the standalone Deployment only" tokend "$ROOT/helm/tokend" -f "$WORK/custom-values.yaml" \
  --set standalone.enabled=false

# An application chart including tokend.sidecar: helm/examples/example-app, with the tokend chart
# as its dependency (copied into charts/ of a copy: nothing is written to the source tree).
cp -r "$ROOT/helm/examples/example-app" "$WORK/example-app"
mkdir -p "$WORK/example-app/charts"
cp -r "$ROOT/helm/tokend" "$WORK/example-app/charts/tokend"
check "helm lint --strict helm/examples/example-app" helm lint --strict "$WORK/example-app"
check "helm template helm/examples/example-app" render example-app example-app "$WORK/example-app"
run "example-app render: valid objects" rendered "$ROOT" "helm template (example-app)" "$WORK/example-app.yaml" defender
run "example-app's Deployment (tokend.sidecar) == deploy/kubernetes/sidecar/deployment.yaml" compare \
  "helm template (example-app)" "$WORK/example-app.yaml" Deployment "$K/sidecar/deployment.yaml"
check "helm template helm/examples/example-app with sidecar.native=false" render example-plain example-app "$WORK/example-app" \
  --set tokend.sidecar.native=false
run "example-app with a plain sidecar container: valid objects" rendered "$ROOT" "helm template (example-app, sidecar.native=false)" "$WORK/example-plain.yaml" defender

finish "deploy helm"
