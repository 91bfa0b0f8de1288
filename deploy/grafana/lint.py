#!/usr/bin/env python3
"""Lint the valuepulse Grafana dashboards (deploy/grafana/dashboards/*.json).

Usage: deploy/grafana/lint.py [DASHBOARD.json ...]   (default: every dashboard)

Checks, per dashboard: a stable `uid` (set, unique across the dashboards, at
most 40 characters), a `datasource` variable of type datasource for
Prometheus, every panel and query using `${datasource}`, unique panel ids,
panels inside the 24-column grid, query variables drawn from label_values(),
and the dashboard listed in deploy/grafana/kustomization.yaml (the
ConfigMap generator). Whether the queries parse and name exported metrics is
deploy/prometheus/exprs.py's job.

Exit codes: 0 clean, 1 a problem found, 2 a file cannot be read.
Python 3 standard library only.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DS_UID = "${datasource}"


def walk(panels):
    for p in panels or []:
        yield p
        yield from walk(p.get("panels"))


def lint(path, problems, uids):
    rel = path.name
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"lint.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)

    def bad(msg):
        problems.append(f"{rel}: {msg}")

    uid = d.get("uid")
    if not uid or len(uid) > 40:
        bad(f"uid {uid!r} must be set and at most 40 characters")
    elif uid in uids:
        bad(f"uid {uid!r} also used by {uids[uid]}")
    else:
        uids[uid] = rel
    if not d.get("title"):
        bad("no title")

    variables = (d.get("templating") or {}).get("list") or []
    ds = [v for v in variables if v.get("name") == "datasource"]
    if not ds or ds[0].get("type") != "datasource" or ds[0].get("query") != "prometheus":
        bad("needs a variable `datasource` of type datasource with query prometheus")
    for v in variables:
        if v.get("type") == "query":
            if (v.get("datasource") or {}).get("uid") != DS_UID:
                bad(f"variable {v.get('name')!r} does not use ${{datasource}}")
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if not isinstance(q, str) or not q.strip().startswith("label_values("):
                bad(f"variable {v.get('name')!r} is not a label_values(...) query")

    ids = set()
    for p in walk(d.get("panels")):
        pid = p.get("id")
        if pid in ids:
            bad(f"panel id {pid} used twice")
        ids.add(pid)
        g = p.get("gridPos") or {}
        if g.get("x", 0) + g.get("w", 0) > 24:
            bad(f"panel {p.get('title')!r} is wider than the grid")
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != DS_UID:
            bad(f"panel {p.get('title')!r} does not use ${{datasource}}")
        targets = p.get("targets") or []
        if not targets:
            bad(f"panel {p.get('title')!r} has no query")
        for t in targets:
            if (t.get("datasource") or {}).get("uid") != DS_UID:
                bad(f"panel {p.get('title')!r} query {t.get('refId')} does not use ${{datasource}}")
            if not (t.get("expr") or "").strip():
                bad(f"panel {p.get('title')!r} query {t.get('refId')} has no expr")
    for a in (d.get("annotations") or {}).get("list") or []:
        if a.get("expr") and (a.get("datasource") or {}).get("uid") != DS_UID:
            bad(f"annotation {a.get('name')!r} does not use ${{datasource}}")

    kustomization = (HERE / "kustomization.yaml").read_text(encoding="utf-8")
    if f"dashboards/{path.name}" not in kustomization:
        bad("not listed in deploy/grafana/kustomization.yaml (configMapGenerator)")


def main(argv):
    files = [Path(a) for a in argv] or sorted((HERE / "dashboards").glob("*.json"))
    if not files:
        print("lint.py: no dashboards found", file=sys.stderr)
        return 2
    problems, uids = [], {}
    for f in files:
        lint(f, problems, uids)
    for p in problems:
        print(f"lint.py: {p}", file=sys.stderr)
    print(f"lint.py: {len(files)} dashboards, {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
