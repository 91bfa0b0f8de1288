#!/usr/bin/env python3
"""Checks that a Helm render and a kustomize render agree on what matters.

Usage: compare-with-kustomize.py LABEL HELM.yaml KUSTOMIZE.yaml

For every object of the kustomize render (matched by kind and name), the
Helm render must have the same kind and name, and the same:
  Deployment   replicas, strategy, revisionHistoryLimit,
               progressDeadlineSeconds; the pod's service account settings,
               grace period, security context and topology spread (without
               the label selector, which Helm extends by the instance
               label); the container's image, args, env, ports, probes,
               resources, security context, volume mounts; the volumes
               (the config ConfigMap by name without kustomize's hash: the
               daemon's and the bridge's Deployment mount the same one)
  CronJob      schedule, time zone, concurrency and history; the Job's
               limits; the pod and its container as for a Deployment
  ConfigMap    data (valuepulse.toml; the dashboards, compared as JSON)
  Service      type and ports
  ServiceAccount, PodDisruptionBudget (without selector), NetworkPolicy
  (without podSelector), ServiceMonitor (without selector), Ingress,
  PrometheusRule
               their specs (PromQL compared without whitespace)
Kustomize's hash suffix on generated ConfigMap names is ignored.
Labels and the selectors are left out on purpose: Helm adds
app.kubernetes.io/instance to tell releases apart. Needs PyYAML.
Exit codes: 0 the same, 1 a difference, 2 usage.
"""

import json
import re
import sys

import yaml


HASH = re.compile(r"-[a-z0-9]{10}$")  # the suffix of kustomize's generators
CONFIG_HASH = re.compile(r"(-config)-[a-z0-9]{10}$")  # valuepulse-config-<hash>


def load(path):
    with open(path) as f:
        return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(f) if d}


def promql_spaces(spec):
    """PromQL ignores whitespace, and kustomize re-folds multi-line exprs
    (it adds a blank line after a line that ends a folded block)."""
    spec = json.loads(json.dumps(spec))
    for g in spec.get("groups", []):
        for r in g.get("rules", []):
            r["expr"] = " ".join(str(r["expr"]).split())
    return spec


def without(d, *keys):
    return {k: v for k, v in (d or {}).items() if k not in keys}


def deployment(d):
    spec, pod = d["spec"], d["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    vols = []
    for v in pod.get("volumes", []):
        v = json.loads(json.dumps(v))
        if "configMap" in v:
            # kustomize's generated valuepulse-config-<hash>
            v["configMap"]["name"] = CONFIG_HASH.sub(r"\1", v["configMap"]["name"])
        vols.append(v)
    return {
        "replicas": spec.get("replicas"),
        "strategy": spec.get("strategy"),
        "revisionHistoryLimit": spec.get("revisionHistoryLimit"),
        "progressDeadlineSeconds": spec.get("progressDeadlineSeconds"),
        "pod": without(pod, "containers", "volumes", "topologySpreadConstraints"),
        "topologySpreadConstraints": [without(t, "labelSelector") for t in pod.get("topologySpreadConstraints", [])],
        "container": without(c, "name"),
        "volumes": vols,
    }


def cronjob(d):
    spec = d["spec"]
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (c,) = pod["containers"]
    vols = []
    for v in pod.get("volumes", []):
        v = json.loads(json.dumps(v))
        if "configMap" in v:
            v["configMap"]["name"] = CONFIG_HASH.sub(r"\1", v["configMap"]["name"])
        vols.append(v)
    return {
        "schedule": without(spec, "jobTemplate"),
        "job": without(job, "template"),
        "pod": without(pod, "containers", "volumes"),
        "container": without(c, "name"),
        "volumes": vols,
    }


def configmap(d):
    out = {}
    for k, v in (d.get("data") or {}).items():
        out[k] = json.loads(v) if k.endswith(".json") else v
    return out


PICK = {
    "Deployment": deployment,
    "CronJob": cronjob,
    "ConfigMap": configmap,
    "Service": lambda d: without(d["spec"], "selector"),
    "ServiceAccount": lambda d: d.get("automountServiceAccountToken"),
    "PodDisruptionBudget": lambda d: without(d["spec"], "selector"),
    "NetworkPolicy": lambda d: without(d["spec"], "podSelector"),
    "ServiceMonitor": lambda d: without(d["spec"], "selector"),
    "Ingress": lambda d: d["spec"],
    "PrometheusRule": lambda d: promql_spaces(d["spec"]),
}


def diff(path, a, b, out):
    """Appends the paths where a (helm) and b (kustomize) differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            diff(f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>"), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(f"{path}[{i}]", x, y, out)
    elif a != b:
        out.append(f"{path}: helm {json.dumps(a)[:200]} != kustomize {json.dumps(b)[:200]}")


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    label, helm, kust = argv[1], load(argv[2]), load(argv[3])
    problems, compared = [], 0
    for (kind, name), k in sorted(kust.items()):
        h = helm.get((kind, name))
        if h is None and kind == "ConfigMap":
            h = helm.get((kind, HASH.sub("", name)))
        if h is None:
            problems.append(f"{kind}/{name}: in the kustomize render, not in the Helm render")
            continue
        pick = PICK.get(kind)
        if pick is None:
            problems.append(f"{kind}/{name}: no comparison defined for kind {kind}")
            continue
        compared += 1
        out = []
        diff(f"{kind}/{name}", pick(h), pick(k), out)
        problems += out
    for p in problems:
        print(f"  ERROR {label}: {p}")
    if not problems:
        print(f"  ok    {label}: {compared} objects agree with kustomize")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
