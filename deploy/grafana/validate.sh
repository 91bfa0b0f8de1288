#!/usr/bin/env bash
# Validates deploy/grafana/dashboards/*.json as Grafana reads them: a strict
# decode with the Grafana Foundation SDK's dashboard types (unknown fields,
# wrong types and missing required fields fail) plus the dashboard rules
# (uid, editable false, ${datasource}, allValue ".+", a description and a
# unit on every panel). The program is deploy/grafana/validate/ (Go, its
# SDK pinned in go.mod/go.sum, fetched from the Go module proxy), built once
# per source change into the tools cache by deploy/tools.sh.
#
#   bash deploy/grafana/validate.sh [DASHBOARD.json ...]   (default: every dashboard)
#
# Exit codes: 0 clean, 1 a dashboard failed, 2 Go is missing or the build
# failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/tools.sh
source deploy/tools.sh
tools_dashboard_validator || exit 2

if (($#)); then
  files=("$@")
else
  files=(deploy/grafana/dashboards/*.json)
fi
sdk=$(awk '/grafana-foundation-sdk/ {print $NF}' deploy/grafana/validate/go.mod)
echo "== dashboards: strict decode with github.com/grafana/grafana-foundation-sdk/go $sdk + dashboard rules"
exec "$DASHBOARD_VALIDATE" "${files[@]}"
