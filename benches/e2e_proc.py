"""Process and HTTP helpers of the e2e benchmark: CPU, RSS and threads from
/proc, Prometheus text parsing, stopping processes, percentiles."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def proc_cpu(pid):
    """user + system CPU seconds of a live process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def threads(pid):
    """[(thread name, cpu s, voluntary switches)] of a live process."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
            name = raw[raw.index("(") + 1:raw.rindex(")")]
            fields = raw.rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
            vol = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
            out.append((name, cpu, vol))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return out


def http_get(url, timeout=10.0):
    """(status, body) or (None, None) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, None


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text, name):
    """[(labels, value)] of metric `name` in a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1) == name:
            out.append((dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def stop(proc, grace=15.0):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALUEPULSE__")}
    env.update(extra or {})
    return env


def wait_port_free(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_get(f"http://127.0.0.1:{port}/", timeout=0.5)[0] is None:
            return
        time.sleep(0.2)
    raise Failure(f"port {port} is still in use by another process: stop it")


def result(name, rnd, n, wall, cpu, rss_kb, count, ok, note="", scrape=None):
    r = {
        "contender": name, "round": rnd, "events": n, "wall_s": wall, "cpu_s": cpu,
        "rss_mb": rss_kb / 1024.0, "count": count, "ok": ok, "note": note,
        "scrape_s": scrape,
    }
    status = "ok" if ok else f"FAILED ({note})"
    log(f"round {rnd} {name}: {wall:.2f} s, {n / wall / 1e3 if wall else 0:.0f} k ev/s, "
        f"CPU {cpu:.2f} s, RSS {rss_kb / 1024:.0f} MB, read {count}: {status}")
    return r


def idle_gaps(timeline):
    """From (t, cpu) samples: the share of time after the first work in which
    the process used under 10 % of a core, and the idle stretches >= 0.3 s."""
    slots = [(t1 - t0, (c1 - c0) / max(1e-9, t1 - t0))
             for (t0, c0), (t1, c1) in zip(timeline, timeline[1:])]
    first = next((i for i, (_, u) in enumerate(slots) if u > 0.5), 0)
    slots = slots[first:]
    total = sum(d for d, _ in slots)
    idle = sum(d for d, u in slots if u < 0.1)
    gaps, run = [], 0.0
    for d, u in slots + [(0.0, 1.0)]:
        if u < 0.1:
            run += d
        else:
            if run >= 0.3:
                gaps.append(round(run, 2))
            run = 0.0
    return {"span_s": round(total, 2), "idle_s": round(idle, 2),
            "idle_share": round(idle / total, 3) if total else None, "gaps_s": gaps}


def stop_child_of(perf_proc):
    """Stops the program that perf runs (so perf writes its output), then perf."""
    try:
        with open(f"/proc/{perf_proc.pid}/task/{perf_proc.pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except FileNotFoundError:
        kids = []
    for k in kids:
        try:
            os.kill(k, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        perf_proc.wait(60)
    except subprocess.TimeoutExpired:
        stop(perf_proc)


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, -(-p * len(xs) // 100) - 1))  # nearest rank
    return xs[int(k)]
