#!/usr/bin/env python3
"""Check that every PromQL expression of valuepulse's rules and dashboards
parses, and names only metrics the daemon exports or the rules record.

Usage
  deploy/prometheus/exprs.py [--names-from NAMES_RS] [--exported SCRAPE]...
                             [--rules PATH]... [--dashboards PATH]...
                             [--promtool PROMTOOL] [--json]

  --names-from NAMES_RS  src/views/names.rs: every `name: "valuepulse_…"`
                         there counts as exported (a family with no series yet
                         is absent from a scrape); a Summary also exports
                         NAME_sum and NAME_count, a Histogram NAME_bucket,
                         NAME_sum and NAME_count. Its label lists enable the
                         label check (3. below).
  --exported SCRAPE      a real /metrics scrape (Prometheus text format; `-`
                         reads stdin). Every family with a `# TYPE` line or a
                         sample counts as exported, with _sum/_count (summary),
                         _bucket/_sum/_count (histogram) and _total (counter).
                         May be given more than once.
  --rules PATH           a rule file or a folder of *.rules.yml files
                         (default: deploy/prometheus/).
  --dashboards PATH      a Grafana dashboard JSON file or a folder of *.json
                         (default: deploy/grafana/dashboards/).
  --promtool PROMTOOL    promtool to parse with (default: `promtool` on PATH).
  --json                 print one JSON object on stdout instead of text:
                         {"ok", "expressions", "metrics": {name: [kind, …]},
                          "problems": [{"source", "message"}]}.

  Default paths are relative to the repository this file is in, so the
  script runs from any working directory.

What it checks
  1. Parsing. It collects every `expr` of the rule files, and from each
     dashboard every panel target's `expr`, every annotation's `expr`, and
     the expression inside `label_values(EXPR, label)` / `query_result(EXPR)`
     of query variables. Grafana variables are first replaced by stand-ins:
     $__rate_interval, $__interval, $__range -> durations; $__interval_ms,
     $__range_s, $__range_ms -> numbers; any other $var, ${var},
     ${var:format} or [[var]] -> `x` inside a string literal, `5m` after `[`,
     `:` or `offset`, `1` elsewhere. Every expression becomes one recording
     rule of a temporary rule file, and `promtool check rules` parses it:
     promtool's parser is Prometheus' own.
  2. Metric names. A name an expression selects must be
       - a recording rule defined in the rule files (names with `:`), or
       - a valuepulse_* metric exported per --names-from or --exported, or
       - a series Prometheus makes itself: up, scrape_samples_scraped,
         scrape_duration_seconds, scrape_series_added,
         scrape_samples_post_metric_relabeling, ALERTS, ALERTS_FOR_STATE.
     Given neither --names-from nor --exported, valuepulse_* names cannot be
     verified: they are listed as such and do not fail the run.
  3. Labels (with --names-from). A label matcher on a valuepulse_* metric may
     only name that metric's labels in names.rs, `quantile` for a summary,
     `le` for a histogram's _bucket series, and the target labels job,
     instance, pod, namespace, container, endpoint.

Output
  Text: a summary and every referenced metric with where it is known from on
  stdout; each problem as `exprs.py: SOURCE: MESSAGE` on stderr.

Exit codes
  0  every expression parses and every referenced metric (and label) is known
  1  at least one expression does not parse, or references an unknown metric
     or label
  2  usage error, an unreadable or unsupported input file, promtool missing or
     failing for another reason

Python 3.8+ standard library only (the rule files are read by a small
line-based reader that knows the YAML forms rule files use: plain, quoted and
block scalars).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PROG = "exprs.py"
REPO = Path(__file__).resolve().parent.parent.parent

PROMETHEUS_SERIES = {
    "up": "scrape series",
    "scrape_samples_scraped": "scrape series",
    "scrape_duration_seconds": "scrape series",
    "scrape_series_added": "scrape series",
    "scrape_samples_post_metric_relabeling": "scrape series",
    "ALERTS": "alert series",
    "ALERTS_FOR_STATE": "alert series",
}
TARGET_LABELS = {"job", "instance", "pod", "namespace", "container", "endpoint"}


class UsageError(Exception):
    """Bad input: exit code 2."""


# ---------------------------------------------------------------------------
# Expressions and where they come from
# ---------------------------------------------------------------------------
class Expr:
    def __init__(self, source, text, origin):
        self.source = source  # human-readable place, e.g. "alerts.rules.yml:12 alert X"
        self.text = text  # the PromQL as written (with Grafana variables)
        self.origin = origin  # "rule" or "dashboard"
        self.promql = text  # after variable substitution


# ---------------------------------------------------------------------------
# Rule files: a line-based reader for the YAML forms rule files use
# ---------------------------------------------------------------------------
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- +)?(?P<key>[A-Za-z_][\w.-]*):(?:[ \t]+(?P<rest>.*))?[ \t]*$")
BLOCK_HEADER = re.compile(r"^(?P<style>[|>])(?P<ind>[1-9]?)(?P<chomp>[+-]?)(?P<ind2>[1-9]?)[ \t]*(#.*)?$")


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _read_block(lines, start, key_col, header):
    """Block scalar after a `key: |` line; returns (text, next_line_index)."""
    style = header.group("style")
    explicit = header.group("ind") or header.group("ind2")
    j = start
    body = []
    while j < len(lines) and (lines[j].strip() == "" or _indent(lines[j]) > key_col):
        body.append(lines[j])
        j += 1
    while body and body[-1].strip() == "":
        body.pop()
    non_empty = [_indent(l) for l in body if l.strip()]
    base = key_col + int(explicit) if explicit else (min(non_empty) if non_empty else 0)
    rows = [l[base:] if l.strip() else "" for l in body]
    if style == "|":
        return "\n".join(rows), j
    out, prev_plain = "", False  # folded: plain lines join with spaces
    for row in rows:
        if row == "":
            out += "\n"
            prev_plain = False
        elif row[0] in " \t":
            out += ("\n" if out and not out.endswith("\n") else "") + row + "\n"
            prev_plain = False
        else:
            out += (" " if prev_plain else "") + row
            prev_plain = True
    return out, j


def _read_inline(rest, lines, j, key_col, path, lineno):
    """Plain or quoted scalar starting on the key's line; returns (text, next)."""
    if rest.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"', rest)
        if not m:
            raise UsageError(f"{path}:{lineno}: multi-line double-quoted scalars are not supported")
        try:
            return json.loads('"' + m.group(1) + '"'), j
        except ValueError as e:
            raise UsageError(f"{path}:{lineno}: cannot read the quoted string: {e}")
    if rest.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'", rest)
        if not m:
            raise UsageError(f"{path}:{lineno}: multi-line single-quoted scalars are not supported")
        return m.group(1).replace("''", "'"), j
    text = re.sub(r"[ \t]+#.*$", "", rest)
    # A plain scalar may continue on more-indented lines.
    while j < len(lines) and lines[j].strip() and _indent(lines[j]) > key_col \
            and not lines[j].lstrip().startswith("#"):
        text += " " + re.sub(r"[ \t]+#.*$", "", lines[j].strip())
        j += 1
    return text, j


def read_rule_file(path):
    """Returns (exprs, recorded names, alert names) of one rule file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e}")
    rel = _rel(path)
    exprs, records, alerts = [], set(), set()
    item = None  # the current rule: {"name":…, "exprs": [(line, text)]}
    items = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            i += 1
            continue
        key, rest = m.group("key"), (m.group("rest") or "").strip()
        key_col = len(m.group("indent")) + len(m.group("dash") or "")
        if m.group("dash"):
            item = {"name": None, "exprs": []}
            items.append(item)
        key_lineno = i + 1
        i += 1
        header = BLOCK_HEADER.match(rest) if rest else None
        if header:
            value, i = _read_block(lines, i, key_col, header)
        elif rest:
            value, i = _read_inline(rest, lines, i, key_col, rel, key_lineno)
        else:
            continue  # a mapping or sequence follows
        if item is None:
            continue
        if key == "record":
            item["name"] = f"record {value}"
            records.add(value)
        elif key == "alert":
            item["name"] = f"alert {value}"
            alerts.add(value)
        elif key == "expr":
            item["exprs"].append((key_lineno, value))
    for it in items:
        for lineno, text in it["exprs"]:
            exprs.append(Expr(f"{rel}:{lineno} {it['name'] or 'rule'}", text, "rule"))
    return exprs, records, alerts


# ---------------------------------------------------------------------------
# Dashboards
# ---------------------------------------------------------------------------
def _walk_panels(panels):
    for p in panels or []:
        yield p
        yield from _walk_panels(p.get("panels"))


def _split_call(text, fn):
    """Arguments of `fn(…)` when text is exactly such a call, else None."""
    m = re.match(r"^\s*" + fn + r"\s*\((.*)\)\s*$", text, re.S)
    if not m:
        return None
    args, depth, cur, quote = [], 0, "", None
    for ch in m.group(1):
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        cur += ch
    args.append(cur.strip())
    return args


def read_dashboard(path):
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read dashboard {path}: {e}")
    rel = _rel(path)
    out = []
    for p in _walk_panels(d.get("panels")):
        for t in p.get("targets") or []:
            ds = t.get("datasource") or p.get("datasource") or {}
            if isinstance(ds, dict) and ds.get("type") not in (None, "prometheus"):
                continue
            if t.get("expr"):
                out.append(Expr(f'{rel} panel "{p.get("title", "?")}" target {t.get("refId", "?")}',
                                t["expr"], "dashboard"))
    for a in (d.get("annotations") or {}).get("list") or []:
        if a.get("expr"):
            out.append(Expr(f'{rel} annotation "{a.get("name", "?")}"', a["expr"], "dashboard"))
    for v in (d.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if not isinstance(q, str) or not q.strip():
            continue
        args = _split_call(q, "label_values")
        if args is not None:
            if len(args) == 2:
                out.append(Expr(f'{rel} variable "{v.get("name")}"', args[0], "dashboard"))
            continue
        args = _split_call(q, "query_result")
        if args is not None:
            out.append(Expr(f'{rel} variable "{v.get("name")}"', args[0], "dashboard"))
    return out


GRAFANA_BUILTINS = {
    "__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__auto": "1m",
    "__interval_ms": "60000", "__range_s": "3600", "__range_ms": "3600000",
}
GRAFANA_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def substitute(text):
    """Replace Grafana variables by stand-ins that keep the PromQL valid."""
    out, i, quote = [], 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                out.append(text[i:i + 2])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        m = GRAFANA_VAR.match(text, i) if ch in "$[" else None
        if m and not (ch == "[" and m.group(2) is None):
            name = m.group(1) or m.group(2) or m.group(3)
            if name in GRAFANA_BUILTINS:
                out.append(GRAFANA_BUILTINS[name])
            elif quote:
                out.append("x")
            else:
                before = "".join(out).rstrip()
                out.append("5m" if before.endswith(("[", ":")) or re.search(r"\boffset$", before) else "1")
            i = m.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------
# A PromQL lexer, enough to find selected metric names and label matchers
# ---------------------------------------------------------------------------
TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<num>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:[a-zA-Z]+\d*)*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@])
""", re.X)
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "atan2"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
               "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}


def tokens(promql):
    out, pos = [], 0
    while pos < len(promql):
        m = TOKEN.match(promql, pos)
        if not m:
            out.append(("junk", promql[pos]))
            pos += 1
            continue
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            out.append((kind, m.group(0)))
        pos = m.end()
    return out


def _unquote(s):
    if s.startswith("`"):
        return s[1:-1]
    try:
        return json.loads('"' + s[1:-1].replace('\\"', '"').replace('"', '\\"') + '"')
    except ValueError:
        return s[1:-1]


def selectors(promql):
    """[(metric name or None, [(label, op, value)])] of every vector selector."""
    toks = tokens(promql)
    found = []
    parens = []  # "labels" or "expr"
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "op" and val == "[":
            while i < len(toks) and toks[i] != ("op", "]"):
                i += 1  # a range or subquery: durations only
        elif kind == "op" and val == "(":
            parens.append("expr")
        elif kind == "op" and val == ")":
            if parens:
                parens.pop()
        elif kind == "op" and val == "{":
            matchers, i = _matchers(toks, i + 1)
            name = None
            for lab, op, v in matchers:
                if lab == "__name__" and op == "=":
                    name = v
            found.append((name, matchers))
            continue
        elif kind == "ident":
            low = val.lower()
            if parens and parens[-1] == "labels":
                pass  # a label name in by/without/on/ignoring/group_x (…)
            elif low in LABEL_LIST_KEYWORDS:
                if nxt == ("op", "("):
                    parens.append("labels")
                    i += 2
                    continue
            elif low in KEYWORDS:
                pass
            elif val in AGGREGATORS and (nxt == ("op", "(") or nxt[1] in ("by", "without")):
                pass
            elif nxt == ("op", "("):
                pass  # a function call
            else:
                matchers = []
                if nxt == ("op", "{"):
                    matchers, i = _matchers(toks, i + 2)
                    found.append((val, matchers))
                    continue
                found.append((val, matchers))
        i += 1
    return found


def _matchers(toks, i):
    """Reads `label op "value", …}` from index i; returns (matchers, index after `}`)."""
    out = []
    while i < len(toks) and toks[i] != ("op", "}"):
        if toks[i][0] == "ident" and i + 2 < len(toks) and toks[i + 1][0] == "op" \
                and toks[i + 2][0] == "str":
            out.append((toks[i][1], toks[i + 1][1], _unquote(toks[i + 2][1])))
            i += 3
        else:
            i += 1
    return out, i + 1


# ---------------------------------------------------------------------------
# What the daemon exports
# ---------------------------------------------------------------------------
def read_names_rs(path):
    """{name: {"kind": …, "labels": set}} from src/views/names.rs."""
    try:
        src = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e}")
    consts = {m.group(1): re.findall(r'"([^"]*)"', m.group(2))
              for m in re.finditer(r"const\s+(\w+)\s*:\s*&\[&str\]\s*=\s*&\[([^\]]*)\]", src)}
    defs = {}
    for m in re.finditer(r"MetricDef\s*\{(.*?)\}\s*;", src, re.S):
        body = m.group(1)
        name = re.search(r'\bname:\s*"(valuepulse_[a-z0-9_]+)"', body)
        if not name:
            continue
        kind = re.search(r"\bkind:\s*Kind::(\w+)", body)
        labels = re.search(r"\blabels:\s*(&\[[^\]]*\]|\w+)", body)
        if labels is None:
            label_set = None
        elif labels.group(1).startswith("&["):
            label_set = set(re.findall(r'"([^"]*)"', labels.group(1)))
        else:
            label_set = set(consts[labels.group(1)]) if labels.group(1) in consts else None
        defs[name.group(1)] = {"kind": kind.group(1).lower() if kind else "unknown",
                               "labels": label_set}
    # Names outside a MetricDef block still count as exported.
    for n in re.findall(r'\bname:\s*"(valuepulse_[a-z0-9_]+)"', src):
        defs.setdefault(n, {"kind": "unknown", "labels": None})
    if not defs:
        raise UsageError(f'{path}: no `name: "valuepulse_…"` found; is it src/views/names.rs?')
    return defs


def exported_names(defs):
    out = {}
    for name, d in defs.items():
        out[name] = name
        if d["kind"] == "summary":
            out[name + "_sum"] = name
            out[name + "_count"] = name
        elif d["kind"] == "histogram":
            for s in ("_sum", "_count", "_bucket"):
                out[name + s] = name
    return out


def read_scrape(path):
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read scrape {path}: {e}")
    names, families = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                families[parts[2]] = parts[3]
        elif line.strip() and not line.startswith("#"):
            m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
            if m:
                names.add(m.group(0))
    for fam, typ in families.items():
        names.add(fam)
        if typ == "summary":
            names.update({fam + "_sum", fam + "_count"})
        elif typ == "histogram":
            names.update({fam + "_sum", fam + "_count", fam + "_bucket"})
        elif typ == "counter" and not fam.endswith("_total"):
            names.add(fam + "_total")
    if not names:
        raise UsageError(f"{path}: no metric in this scrape")
    return names


# ---------------------------------------------------------------------------
# promtool
# ---------------------------------------------------------------------------
def promtool_parse(exprs, promtool):
    """{index: error} for expressions promtool cannot parse."""
    rules = [{"record": f"exprs_check_{k:04d}", "expr": e.promql} for k, e in enumerate(exprs)]
    doc = {"groups": [{"name": "exprs-check", "rules": rules}]}
    fd, tmp = tempfile.mkstemp(prefix="exprs-check-", suffix=".yml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)  # JSON is YAML: no quoting pitfalls
        try:
            res = subprocess.run([promtool, "check", "rules", "--lint=none", tmp],
                                 capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            raise UsageError(f"promtool not found ({promtool}): install Debian's `prometheus` package")
        except subprocess.TimeoutExpired:
            raise UsageError("promtool check rules timed out")
    finally:
        os.unlink(tmp)
    if res.returncode == 0:
        return {}
    output = res.stdout + res.stderr
    errors = {}
    for m in re.finditer(r'"exprs_check_(\d{4})":\s*(.*)', output):
        errors[int(m.group(1))] = m.group(2).strip()
    if not errors:
        raise UsageError("promtool check rules failed without naming an expression:\n" + output)
    return errors


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
def _rel(path):
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(path)


def _files(paths, default, pattern):
    out = []
    for p in paths or [default]:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.glob(pattern))
            if not found:
                raise UsageError(f"no {pattern} in {p}")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p} does not exist")
    return out


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, add_help=True,
                                 description="Check that every PromQL expression of the rules and dashboards "
                                             "parses and names only metrics valuepulse exports or the rules record. "
                                             "Exit 0 ok, 1 a problem found, 2 usage or tool error.")
    ap.add_argument("--names-from", metavar="NAMES_RS")
    ap.add_argument("--exported", metavar="SCRAPE", action="append", default=[])
    ap.add_argument("--rules", metavar="PATH", action="append")
    ap.add_argument("--dashboards", metavar="PATH", action="append")
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("--json", action="store_true")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2

    try:
        rule_files = _files(args.rules, REPO / "deploy/prometheus", "*.rules.yml")
        dash_files = _files(args.dashboards, REPO / "deploy/grafana/dashboards", "*.json")
        exprs, records, alerts = [], set(), set()
        for f in rule_files:
            e, r, a = read_rule_file(f)
            exprs += e
            records |= r
            alerts |= a
        n_rule_exprs = len(exprs)
        for f in dash_files:
            exprs += read_dashboard(f)
        defs = read_names_rs(args.names_from) if args.names_from else {}
        declared = exported_names(defs)
        scraped = set()
        for s in args.exported:
            scraped |= read_scrape(s)
        for e in exprs:
            e.promql = substitute(e.text)
        parse_errors = promtool_parse(exprs, args.promtool) if exprs else {}
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2

    problems = []
    for k, err in sorted(parse_errors.items()):
        problems.append((exprs[k].source, f"does not parse: {err}"))

    can_verify = bool(defs) or bool(scraped)
    metrics = {}  # name -> sorted list of where it is known from
    for k, e in enumerate(exprs):
        if k in parse_errors:
            continue
        for name, matchers in selectors(e.promql):
            if name is None:
                continue
            known = []
            if name in records:
                known.append("recording rule")
            if name in PROMETHEUS_SERIES:
                known.append(PROMETHEUS_SERIES[name])
            if name in declared:
                known.append("names.rs")
            if name in scraped:
                known.append("scrape")
            if not known:
                if name.startswith("valuepulse_") and not can_verify:
                    known.append("unverified (no --names-from / --exported)")
                else:
                    where = ("not a recording rule in the rule files" if ":" in name else
                             "neither in names.rs nor in the scrape" if name.startswith("valuepulse_") else
                             "not a valuepulse metric, a recording rule or a Prometheus series")
                    problems.append((e.source, f"unknown metric {name} ({where})"))
                    continue
            metrics.setdefault(name, set()).update(known)
            family = declared.get(name)
            if family and defs[family]["labels"] is not None:
                allowed = defs[family]["labels"] | TARGET_LABELS
                if defs[family]["kind"] == "summary" and name == family:
                    allowed = allowed | {"quantile"}
                if defs[family]["kind"] == "histogram" and name == family + "_bucket":
                    allowed = allowed | {"le"}
                for lab, _op, _v in matchers:
                    if lab != "__name__" and lab not in allowed:
                        problems.append((e.source, f"{name} has no label {lab!r} "
                                                   f"(names.rs: {', '.join(sorted(defs[family]['labels'])) or 'none'})"))

    unused = sorted(n for n in defs if not any(
        m == n or declared.get(m) == n for m in metrics))
    ok = not problems
    if args.json:
        print(json.dumps({
            "ok": ok,
            "expressions": len(exprs),
            "rule_expressions": n_rule_exprs,
            "dashboard_expressions": len(exprs) - n_rule_exprs,
            "metrics": {n: sorted(v) for n, v in sorted(metrics.items())},
            "declared_but_unused": unused,
            "problems": [{"source": s, "message": m} for s, m in problems],
        }, indent=2))
    else:
        parsed = len(exprs) - len(parse_errors)
        print(f"{PROG}: {parsed}/{len(exprs)} expressions parse with promtool "
              f"({n_rule_exprs} from {len(rule_files)} rule files, "
              f"{len(exprs) - n_rule_exprs} from {len(dash_files)} dashboards)")
        print(f"{PROG}: {len(metrics)} metrics referenced:")
        width = max((len(n) for n in metrics), default=0)
        for n in sorted(metrics):
            print(f"  {n:<{width}}  {', '.join(sorted(metrics[n]))}")
        if unused:
            print(f"{PROG}: in names.rs but used by no rule or dashboard: {', '.join(unused)}")
        if not can_verify:
            print(f"{PROG}: valuepulse_* names unverified: pass --names-from and/or --exported")
        for s, m in problems:
            print(f"{PROG}: {s}: {m}", file=sys.stderr)
        print(f"{PROG}: {'OK' if ok else f'FAILED: {len(problems)} problem(s)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
