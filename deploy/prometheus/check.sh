#!/usr/bin/env bash
# Checks the monitoring files: rules, rule tests, alert conventions, the
# generated PrometheusRule, dashboard queries and the kustomization.
#
#   bash deploy/prometheus/check.sh
#
# Runs every step even after a failure, then exits 1 if any step failed
# (2 if a required tool is missing: nothing is skipped). Needs promtool
# (Debian package `prometheus`; deploy/test.sh installs it) and python3;
# kustomize and a Python with PyYAML come pinned from deploy/tools.sh (the
# cache deploy/check-manifests.sh uses), installed on first use with go and
# pip.
set -uo pipefail
cd "$(dirname "$0")/../.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "check.sh: $1 not found: $2" >&2; exit 2; }
}
need promtool "install Debian's prometheus package (apt-get install prometheus), or run deploy/test.sh, which installs it"
need python3 "install Python 3 (apt-get install python3 python3-venv)"
# shellcheck source=deploy/tools.sh
source deploy/tools.sh
tools_kustomize || { echo "check.sh: kustomize is needed and could not be installed (see above)" >&2; exit 2; }
tools_venv || { echo "check.sh: a Python with PyYAML is needed and could not be installed (see above)" >&2; exit 2; }

failed=()
step() {
  local name="$1"
  shift
  echo "== $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

rules=(deploy/prometheus/*.rules.yml)
tests=(deploy/prometheus/tests/*.yml)

step "promtool check rules" promtool check rules "${rules[@]}"
step "promtool test rules" promtool test rules "${tests[@]}"

# Every alert: severity, summary, description, a runbook_url pointing at its
# own runbook file that exists, and both a firing and a not-firing test case.
alert_conventions() {
  python3 - "${rules[@]}" -- "${tests[@]}" <<'EOF'
import re, sys
from pathlib import Path
args = sys.argv[1:]
rule_files, test_files = args[:args.index("--")], args[args.index("--") + 1:]
base = "https://github.com/valuepulse/valuepulse/blob/main/deploy/runbooks/"
problems, alerts = [], []
for f in rule_files:
    text = Path(f).read_text()
    # Split into rule items: from one `- alert:`/`- record:` to the next.
    for m in re.finditer(r"^\s*- alert:\s*(\S+)\s*\n(.*?)(?=^\s*- (?:alert|record|name):|\Z)", text, re.S | re.M):
        name, body = m.group(1), m.group(2)
        alerts.append(name)
        if not re.match(r"^Valuepulse[A-Z][A-Za-z]+$", name):
            problems.append(f"{name}: alert names are CamelCase with the Valuepulse prefix")
        for key in ("severity", "summary", "description", "runbook_url"):
            if not re.search(rf"^\s*{key}:", body, re.M):
                problems.append(f"{name} ({f}): no {key}")
        url = re.search(r"^\s*runbook_url:\s*(\S+)", body, re.M)
        if url and url.group(1) != f"{base}{name}.md":
            problems.append(f"{name}: runbook_url should be {base}{name}.md")
        if not Path(f"deploy/runbooks/{name}.md").is_file():
            problems.append(f"{name}: deploy/runbooks/{name}.md is missing")
cases = {}
for f in test_files:
    text = Path(f).read_text()
    for m in re.finditer(r"^\s*- alertname:\s*(\S+)\s*\n(.*?)(?=^\s*- (?:alertname|name):|\Z)", text, re.S | re.M):
        kind = "firing" if "exp_labels:" in m.group(2) else "not firing" if re.search(r"exp_alerts:\s*\[\]", m.group(2)) else None
        if kind:
            cases.setdefault(m.group(1), set()).add(kind)
for name in alerts:
    for kind in ("firing", "not firing"):
        if kind not in cases.get(name, set()):
            problems.append(f"{name}: no {kind} case in deploy/prometheus/tests/")
for name in cases:
    if name not in alerts:
        problems.append(f"tests name an alert that no rule file defines: {name}")
for p in problems:
    print(f"check.sh: {p}", file=sys.stderr)
print(f"{len(alerts)} alerts: {'OK' if not problems else f'{len(problems)} problem(s)'}")
sys.exit(1 if problems else 0)
EOF
}
step "alert conventions (labels, annotations, runbooks, test cases)" alert_conventions

step "PrometheusRule is a fresh render of the rule files" deploy/prometheus/make-prometheusrule.sh --check

# The rendered spec.groups must equal the rule files' groups, read by a real
# YAML parser (PyYAML, from the tools venv).
prometheusrule_semantics() {
  "$VENV_PY" - <<'EOF'
import sys, yaml
pr = yaml.safe_load(open("deploy/kubernetes/monitoring/prometheusrule.yaml"))
groups = []
for f in ("adoption", "dora", "value", "alerts"):
    groups += yaml.safe_load(open(f"deploy/prometheus/{f}.rules.yml"))["groups"]
assert pr["apiVersion"] == "monitoring.coreos.com/v1" and pr["kind"] == "PrometheusRule", "not a PrometheusRule"
if pr["spec"]["groups"] != groups:
    sys.exit("spec.groups differs from the rule files' groups")
print(f"{len(groups)} groups, {sum(len(g['rules']) for g in groups)} rules: same as the rule files")
EOF
}
step "PrometheusRule spec.groups equals the rule files" prometheusrule_semantics

step "PromQL of rules and dashboards parses and names exported metrics" \
  python3 deploy/prometheus/exprs.py --names-from src/views/names.rs
step "dashboards lint" python3 deploy/grafana/lint.py

kustomize_build() {
  local out
  out="$("$KUSTOMIZE" build deploy/kubernetes/monitoring)" || return 1
  local ok=0 kind
  for kind in ServiceMonitor PrometheusRule ConfigMap; do
    grep -q "^kind: $kind$" <<<"$out" || { echo "check.sh: kustomize output has no $kind" >&2; ok=1; }
  done
  grep -q 'grafana_dashboard: "1"' <<<"$out" || { echo "check.sh: the dashboards ConfigMap lacks grafana_dashboard: \"1\"" >&2; ok=1; }
  grep -q '^  name: valuepulse-dashboards$' <<<"$out" || { echo "check.sh: ConfigMap name is not valuepulse-dashboards (hash suffix?)" >&2; ok=1; }
  [[ $ok == 0 ]] && echo "renders: ServiceMonitor, PrometheusRule, ConfigMap valuepulse-dashboards"
  return $ok
}
step "kustomize build deploy/kubernetes/monitoring" kustomize_build

if ((${#failed[@]})); then
  printf 'check.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "check.sh: all checks passed"
