#!/usr/bin/env bash
# Copies the single sources of the chart's rules, dashboards and default
# config into the chart, which can read only files inside itself
# (.Files.Get): edit the sources, never the copies in valuepulse/files/.
#
#   deploy/helm/sync-chart-files.sh --write   refresh the copies
#   deploy/helm/sync-chart-files.sh --check   exit 1, with a diff, if a copy is stale or extra
#
#   deploy/prometheus/{adoption,dora,value,alerts}.rules.yml  -> files/rules/
#   deploy/grafana/dashboards/*.json                    -> files/dashboards/
#   deploy/kubernetes/base/valuepulse.toml              -> files/valuepulse.toml
#
# Copies, not symlinks: helm follows symlinks only with a warning per file,
# and tools that fetch charts from git (Argo CD, Flux) refuse links that
# point outside the chart. deploy/check-manifests.sh runs --check.
set -euo pipefail
cd "$(dirname "$0")/../.."
chart=deploy/helm/valuepulse/files

sources() { # prints "SOURCE COPY" pairs
  local f
  for f in adoption dora value alerts; do
    echo "deploy/prometheus/$f.rules.yml $chart/rules/$f.rules.yml"
  done
  for f in deploy/grafana/dashboards/*.json; do
    echo "$f $chart/dashboards/$(basename "$f")"
  done
  echo "deploy/kubernetes/base/valuepulse.toml $chart/valuepulse.toml"
}

case "${1:-}" in
  --write)
    rm -rf "$chart/rules" "$chart/dashboards"
    mkdir -p "$chart/rules" "$chart/dashboards"
    while read -r src dst; do cp "$src" "$dst"; done < <(sources)
    echo "sync-chart-files.sh: wrote $(sources | wc -l) files under $chart" >&2
    ;;
  --check)
    stale=0
    while read -r src dst; do
      if [[ ! -f $dst ]]; then
        echo "sync-chart-files.sh: $dst is missing (copy of $src)" >&2
        stale=1
      elif ! diff -u --label "$dst (chart copy)" --label "$src (source)" "$dst" "$src"; then
        stale=1
      fi
    done < <(sources)
    # A copy whose source is gone would still be rendered.
    want=$(sources | awk '{print $2}' | sort)
    while read -r f; do
      if ! grep -qxF "$f" <<<"$want"; then
        echo "sync-chart-files.sh: $f has no source any more" >&2
        stale=1
      fi
    done < <(find "$chart/rules" "$chart/dashboards" -type f 2>/dev/null | sort)
    if ((stale)); then
      echo "sync-chart-files.sh: the chart's copies are stale; run deploy/helm/sync-chart-files.sh --write" >&2
      exit 1
    fi
    echo "sync-chart-files.sh: $(sources | wc -l) chart copies are up to date"
    ;;
  *)
    echo "usage: deploy/helm/sync-chart-files.sh --write|--check" >&2
    exit 2
    ;;
esac
