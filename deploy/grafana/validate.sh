#!/usr/bin/env bash
# Validates deploy/grafana/dashboards/*.json as Grafana reads them: a strict
# decode with the Grafana Foundation SDK's dashboard types (unknown fields,
# wrong types and missing required fields fail) plus the dashboard rules
# (uid, editable false, ${datasource}, allValue ".+", a description and a
# unit on every panel). The program is deploy/grafana/validate/ (Go, its
# SDK pinned in go.mod/go.sum, fetched from the Go module proxy).
#
#   bash deploy/grafana/validate.sh [DASHBOARD.json ...]   (default: every dashboard)
#
# The binary is built once per source change into $VALUEPULSE_TOOLS (default
# ~/.cache/valuepulse-deploy-tools), like the tools of check-manifests.sh.
# Exit codes: 0 clean, 1 a dashboard failed, 2 a tool is missing or the
# build failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v go >/dev/null 2>&1 || {
  echo "validate.sh: go not found: install Go 1.22 or newer (Debian: apt-get install golang-go)" >&2
  exit 2
}
TOOLS=${VALUEPULSE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/valuepulse-deploy-tools}
src=deploy/grafana/validate
bin=$TOOLS/bin/valuepulse-dashboard-validate
stamp=$( (go version; cat "$src/go.mod" "$src/go.sum" "$src"/*.go) | sha256sum | cut -c1-16)
if [[ ! -x $bin || $(cat "$bin.stamp" 2>/dev/null) != "$stamp" ]]; then
  echo "validate.sh: building $src (go build) ..." >&2
  mkdir -p "$TOOLS/bin"
  log=$(mktemp)
  if ! (cd "$src" && go build -mod=readonly -o "$bin" .) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "validate.sh: go build of $src failed" >&2
    exit 2
  fi
  rm -f "$log"
  printf '%s' "$stamp" >"$bin.stamp"
fi

if (($#)); then
  files=("$@")
else
  files=(deploy/grafana/dashboards/*.json)
fi
echo "== dashboards, strict decode with github.com/grafana/grafana-foundation-sdk/go $(awk '/grafana-foundation-sdk/ {print $NF}' "$src/go.mod") + dashboard rules"
exec "$bin" "${files[@]}"
