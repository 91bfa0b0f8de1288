"""Driver of benches/e2e.sh: valuepulse end to end, side by side with what
users would run instead (run it through benches/e2e.sh, which sets up the
Python venv; `--help` lists the options).

How each figure is taken
------------------------
Every contender is a fresh process reading the whole usage topic (N events,
4 partitions) from the beginning, with a group id of its own:

- valuepulse `run`: wall time from spawn to the first `/readyz` 200 (polled
  every 10 ms; ready = every assigned partition reached the high watermark
  taken at assignment). Then `valuepulse_events_total` for the usage topic
  must sum to N.
- benches/count_consumer.rs: rust-rdkafka BaseConsumer on valuepulse's own
  librdkafka, default settings, assigns every partition from the beginning
  and counts to the end: spawn to exit; its count must be N.
- kcat -C -e -o beginning -q (Debian's kcat and librdkafka, does nothing but
  print a newline per record, counted by this driver): spawn to exit.
- Kafka's ConsumerPerformance (Java, does nothing): spawn to exit; its
  nMsg column must be N.
- Kafka Streams app and Python aggregation: spawn to the `READY
  processed=N` line they print once N records are processed. Then the sum
  of their `usage_feature_events{window="30d"}` must be N.

CPU seconds are user + system of the process (all threads): from
wait4() for processes that exit, from /proc/PID/stat at the moment they
are done for the daemons. Peak RSS: ru_maxrss, or VmHWM from
/proc/PID/status. events/s = N / wall. The first scrape after done is
timed and shown apart ("scrape s"). Contenders run in the same order in
every round, rounds one after the other (interleaved: A B C D E, A B C D E).

Live (valuepulse only): once ready on the loaded data, `valuepulse loadgen
--rate R` publishes usage stamped now for S seconds, plus every 250 ms a
marker event (feature `vp-bench-marker`, a new user each time) whose send
time it prints. /metrics is scraped back to back; a marker k is visible at
the end of the first scrape whose `valuepulse_feature_usage_events
{feature="vp-bench-marker",window="1d"}` is >= k. Latency = that moment -
send time (so it includes the producer's linger, 5 ms, and one scrape);
the scrape's own duration is reported separately. R defaults to half of
valuepulse's median replay rate (the issue's "half the maximum sustainable
rate", with replay rate as the estimate of the maximum).
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
USAGE_TOPIC = "bench-usage"
DEPLOYS_TOPIC = "bench-deploys"
INCIDENTS_TOPIC = "bench-incidents"
MARKER = "vp-bench-marker"
VP_PORT = 19400
STREAMS_PORT = 19401
PY_PORT = 19402
CONTENDERS = ["valuepulse", "rdkafka-count", "kcat", "consumer-perf", "kafka-streams",
              "python-agg"]
LABELS = {
    "valuepulse": "valuepulse `run`, start → `/readyz` 200",
    "rdkafka-count": "Rust rdkafka count-only consumer (valuepulse's librdkafka, do-nothing)",
    "kcat": "kcat -C (Debian's librdkafka, do-nothing)",
    "consumer-perf": "Kafka ConsumerPerformance (Java, do-nothing)",
    "kafka-streams": "Kafka Streams app (same aggregation)",
    "python-agg": "Python confluent-kafka + prometheus_client (same aggregation)",
    "valuepulse-backoff0": "valuepulse, fetch.queue.backoff.ms=0 (profile run: a clue, not a fix)",
    "rdkafka-count-backoff0": "Rust count-only consumer, fetch.queue.backoff.ms=0 (profile run)",
}


def log(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


# ------------------------------------------------------------------ helpers

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


# ------------------------------------------------------------------ contenders

class Bench:
    def __init__(self, args, bootstrap):
        self.args = args
        self.bootstrap = bootstrap
        self.n = args.events
        self.timeout = max(90.0, self.n / 20_000)
        self.vp = os.path.join(ROOT, "target", "release", "valuepulse")
        cache = os.environ.get("VALUEPULSE_KAFKA_CACHE") or os.path.expanduser(
            f"~/.cache/valuepulse/kafka-{os.environ.get('VALUEPULSE_KAFKA_VERSION', '4.3.1')}")
        self.kafka_libs = os.path.join(cache, "libs")
        self.streams_dir = os.path.join(ROOT, "benches", "peers", "kafka-streams")
        self.work = args.dir + "-work"
        os.makedirs(self.work, exist_ok=True)

    def uid(self, prefix):
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def warm_up(self):
        """Takes the broker's one-time costs out of the first contender's
        time: the first group ever creates __consumer_offsets, and the first
        read of each partition may come from disk."""
        log("warm-up: one consumer group join and one full read (untimed)")
        subprocess.run(["kcat", "-b", self.bootstrap, "-G", self.uid("warm-up"), USAGE_TOPIC,
                        "-c", "1", "-q", "-o", "beginning"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120, check=False)
        subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", USAGE_TOPIC, "-e", "-q",
                        "-o", "beginning", "-f", "\\n"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600, check=False)

    # ---- valuepulse

    def vp_env(self, group, extra=None):
        env = {
            "VALUEPULSE__KAFKA__BROKERS": self.bootstrap,
            "VALUEPULSE__KAFKA__GROUP_ID": group,
            "VALUEPULSE__TOPICS__FEATURE_USAGE": USAGE_TOPIC,
            "VALUEPULSE__TOPICS__DEPLOYS": DEPLOYS_TOPIC,
            "VALUEPULSE__TOPICS__INCIDENTS": INCIDENTS_TOPIC,
            "VALUEPULSE__HTTP__LISTEN": f"127.0.0.1:{VP_PORT}",
            "VALUEPULSE__LOG__LEVEL": "warn",
        }
        env.update(extra or {})
        return clean_env(env)

    def vp_start(self, env, argv_prefix=(), config=None, stderr=None):
        wait_port_free(VP_PORT)
        cmd = list(argv_prefix) + [self.vp, "run"] + (["--config", config] if config else [])
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=stderr or subprocess.DEVNULL)
        return proc, start

    def vp_wait_ready(self, proc, start):
        deadline = start + self.timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise Failure(f"valuepulse exited with {proc.returncode} before ready")
            if http_get(f"http://127.0.0.1:{VP_PORT}/readyz", timeout=1.0)[0] == 200:
                return time.monotonic() - start
            time.sleep(0.01)
        raise Failure(f"valuepulse not ready within {self.timeout:.0f} s")

    def vp_usage_count(self):
        t0 = time.monotonic()
        status, text = http_get(f"http://127.0.0.1:{VP_PORT}/metrics", timeout=60)
        scrape = time.monotonic() - t0
        if status != 200:
            raise Failure(f"/metrics answered {status}")
        rows = samples(text, "valuepulse_events_total")
        total = sum(v for lab, v in rows if lab.get("topic") == USAGE_TOPIC)
        accepted = sum(v for lab, v in rows
                       if lab.get("topic") == USAGE_TOPIC and lab.get("outcome") == "accepted")
        return int(total), int(accepted), scrape

    def run_valuepulse(self, rnd, name="valuepulse", config=None):
        proc, start = self.vp_start(self.vp_env(self.uid("vp-bench")), config=config)
        try:
            wall = self.vp_wait_ready(proc, start)
            cpu, rss = proc_cpu(proc.pid), proc_hwm_kb(proc.pid)
            total, accepted, scrape = self.vp_usage_count()
            ok = total == self.n
            note = "" if ok else f"read {total} of {self.n}"
            if ok and accepted != self.n:
                note = f"{self.n - accepted} not accepted (late/invalid)"
            return result(name, rnd, self.n, wall, cpu, rss, total, ok, note, scrape)
        except Failure as e:
            return result(name, rnd, self.n, time.monotonic() - start, 0, 0, 0, False, str(e))
        finally:
            stop(proc)

    # ---- processes that exit when done

    def run_to_exit(self, cmd, env=None, on_stdout=None):
        """Runs cmd to its exit: (wall s, cpu s, maxrss kB, returncode)."""
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env or clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        reader = threading.Thread(target=on_stdout, args=(proc.stdout,), daemon=True)
        reader.start()
        err = []
        err_reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        err_reader.start()
        timer = threading.Timer(self.timeout, proc.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join(10)
        err_reader.join(10)
        self.last_stderr = (err[0] if err else b"").decode("utf-8", "replace")
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, proc.returncode

    def run_kcat(self, rnd):
        count = [0]

        def read(stream):
            while True:
                chunk = stream.read(1 << 16)
                if not chunk:
                    return
                count[0] += chunk.count(b"\n")

        cmd = ["kcat", "-C", "-b", self.bootstrap, "-t", USAGE_TOPIC, "-e", "-o", "beginning",
               "-q", "-f", "\\n", "-X", f"group.id={self.uid('kcat')}"]
        wall, cpu, rss, rc = self.run_to_exit(cmd, on_stdout=read)
        ok = rc == 0 and count[0] == self.n
        note = "" if ok else f"exit {rc}, read {count[0]}: {self.last_stderr.strip()[-300:]}"
        return result("kcat", rnd, self.n, wall, cpu, rss, count[0], ok, note)

    def run_rdkafka_count(self, rnd, name="rdkafka-count", props=()):
        out = []

        def read(stream):
            out.append(stream.read().decode("utf-8", "replace"))

        wall, cpu, rss, rc = self.run_to_exit(
            [self.count_consumer, self.bootstrap, USAGE_TOPIC] + list(props), on_stdout=read)
        m = re.search(r"READ (\d+)", "".join(out))
        count = int(m.group(1)) if m else 0
        ok = rc == 0 and count == self.n
        note = "" if ok else f"exit {rc}, read {count}: {self.last_stderr.strip()[-300:]}"
        return result(name, rnd, self.n, wall, cpu, rss, count, ok, note)

    def run_consumer_perf(self, rnd):
        lines = []

        def read(stream):
            lines.extend(stream.read().decode("utf-8", "replace").splitlines())

        l4j = os.path.join(self.work, "tools-log4j2.properties")
        with open(l4j, "w") as f:
            f.write("status = warn\nappender.err.type = Console\nappender.err.name = STDERR\n"
                    "appender.err.target = SYSTEM_ERR\nappender.err.layout.type = PatternLayout\n"
                    "appender.err.layout.pattern = %p %m (%c)%n\nrootLogger.level = warn\n"
                    "rootLogger.appenderRef.err.ref = STDERR\n")
        cmd = ["java", f"-Dlog4j2.configurationFile={l4j}", "-cp",
               os.path.join(self.kafka_libs, "*"), "org.apache.kafka.tools.ConsumerPerformance",
               "--bootstrap-server", self.bootstrap, "--topic", USAGE_TOPIC,
               "--num-records", str(self.n), "--timeout", "30000",
               "--group", self.uid("perf")]
        wall, cpu, rss, rc = self.run_to_exit(cmd, on_stdout=read)
        count = 0
        for line in lines:
            cols = [c.strip() for c in line.split(",")]
            if len(cols) >= 6 and cols[4].isdigit():
                count = int(cols[4])
        ok = rc == 0 and count == self.n
        note = "" if ok else f"exit {rc}, read {count}: {self.last_stderr.strip()[-300:]}"
        return result("consumer-perf", rnd, self.n, wall, cpu, rss, count, ok, note)

    # ---- daemons that print READY

    def run_ready_line(self, name, rnd, cmd, port, env=None):
        wait_port_free(port)
        start = time.monotonic()
        errlog = open(os.path.join(self.work, f"{name}-{rnd}.stderr"), "wb")
        proc = subprocess.Popen(cmd, env=env or clean_env(), stdout=subprocess.PIPE,
                                stderr=errlog)
        ready = threading.Event()
        at = [None]

        def read():
            for line in proc.stdout:
                if line.startswith(b"READY") and at[0] is None:
                    at[0] = time.monotonic()
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            while not ready.wait(0.05):
                if proc.poll() is not None:
                    raise Failure(f"{name} exited with {proc.returncode} before reading all "
                                  f"(see {errlog.name})")
                if time.monotonic() - start > self.timeout:
                    raise Failure(f"{name} did not read {self.n} within {self.timeout:.0f} s")
            wall = at[0] - start
            cpu, rss = proc_cpu(proc.pid), proc_hwm_kb(proc.pid)
            t0 = time.monotonic()
            status, text = http_get(f"http://127.0.0.1:{port}/metrics", timeout=120)
            scrape = time.monotonic() - t0
            if status != 200:
                raise Failure(f"{name} /metrics answered {status}")
            total = int(sum(v for lab, v in samples(text, "usage_feature_events")
                            if lab.get("window") == "30d"))
            ok = total == self.n
            note = "" if ok else f"30d events sum to {total}, not {self.n}"
            return result(name, rnd, self.n, wall, cpu, rss, total, ok, note, scrape)
        except Failure as e:
            return result(name, rnd, self.n, time.monotonic() - start, 0, 0, 0, False, str(e))
        finally:
            stop(proc)
            errlog.close()

    def run_kafka_streams(self, rnd):
        app = self.uid("usage-streams")
        cmd = ["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
               f"{self.streams_dir}/target/classes:{self.streams_dir}/target/lib/*",
               "valuepulse.bench.UsageStreams", "--brokers", self.bootstrap,
               "--topic", USAGE_TOPIC, "--app-id", app, "--port", str(STREAMS_PORT),
               "--expect", str(self.n), "--threads", "2"]
        try:
            return self.run_ready_line("kafka-streams", rnd, cmd, STREAMS_PORT)
        finally:
            shutil.rmtree(f"/tmp/usage-streams-state-{app}", ignore_errors=True)

    def run_python_agg(self, rnd):
        cmd = [sys.executable, os.path.join(ROOT, "benches", "peers", "python_agg.py"),
               "--brokers", self.bootstrap, "--topic", USAGE_TOPIC,
               "--group", self.uid("py-agg"), "--port", str(PY_PORT), "--expect", str(self.n)]
        return self.run_ready_line("python-agg", rnd, cmd, PY_PORT)

    def run(self, name, rnd):
        return {
            "valuepulse": self.run_valuepulse,
            "rdkafka-count": self.run_rdkafka_count,
            "kcat": self.run_kcat,
            "consumer-perf": self.run_consumer_perf,
            "kafka-streams": self.run_kafka_streams,
            "python-agg": self.run_python_agg,
        }[name](rnd)

    # ---- live

    def live(self, rate, seconds):
        """valuepulse ready on the loaded data, then live load with markers."""
        log(f"live: valuepulse, {rate:.0f} usage events/s for {seconds} s, a marker every 250 ms")
        proc, start = self.vp_start(self.vp_env(self.uid("vp-live")))
        out = {"rate_target": rate, "seconds": seconds}
        try:
            self.vp_wait_ready(proc, start)
            cpu0 = proc_cpu(proc.pid)
            sent = {}
            gen = subprocess.Popen(
                [self.vp, "loadgen", "--brokers", self.bootstrap, "--usage-topic", USAGE_TOPIC,
                 "--deploys-topic", DEPLOYS_TOPIC, "--incidents-topic", INCIDENTS_TOPIC,
                 "--features", str(self.args.features), "--users", str(self.args.users),
                 "--seed", str(self.args.seed + 1), "--rate", str(rate),
                 "--duration", f"{seconds}s", "--events", str(10**12),
                 "--marker-every", "250ms", "--marker-feature", MARKER, "--linger", "5ms"],
                env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

            def read():
                for line in gen.stdout:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == b"marker":
                        sent[int(parts[1])] = int(parts[2]) / 1000.0

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            polls = []  # (start, end, marker count)
            end_by = None
            while True:
                t0 = time.time()
                status, text = http_get(f"http://127.0.0.1:{VP_PORT}/metrics", timeout=30)
                t1 = time.time()
                count = 0
                if status == 200:
                    for lab, v in samples(text, "valuepulse_feature_usage_events"):
                        if lab.get("feature") == MARKER and lab.get("window") == "1d":
                            count = max(count, int(v))
                polls.append((t0, t1, count))
                time.sleep(0.005)  # leave the daemon a moment between scrapes
                if gen.poll() is not None and end_by is None:
                    end_by = time.time() + 10
                if end_by is not None and (time.time() > end_by or (sent and count >= max(sent))):
                    break
            reader.join(5)
            gen_err = gen.stderr.read().decode("utf-8", "replace")
            m = re.search(r"summary events=\d+ usage=(\d+) .*seconds=([\d.]+)", gen_err)
            if gen.returncode != 0 or not m:
                raise Failure(f"live loadgen failed: {gen_err.strip()[-400:]}")
            out["rate_achieved"] = int(m.group(1)) / float(m.group(2))
            lat, lat_lo, missing = [], [], 0
            for k, t in sorted(sent.items()):
                seen = next((p for p in polls if p[2] >= k and p[1] >= t), None)
                if seen is None:
                    missing += 1
                    continue
                lat.append(seen[1] - t)
                lat_lo.append(max(0.0, seen[0] - t))
            scrapes = [p[1] - p[0] for p in polls]
            out.update({
                "markers": len(sent), "missing": missing, "scrapes": len(polls),
                "latency_p50": pct(lat, 50), "latency_p99": pct(lat, 99),
                "latency_max": max(lat) if lat else None,
                "latency_start_p50": pct(lat_lo, 50), "latency_start_p99": pct(lat_lo, 99),
                "scrape_p50": pct(scrapes, 50), "scrape_p99": pct(scrapes, 99),
                "cpu_s": proc_cpu(proc.pid) - cpu0,
                "ok": missing == 0 and len(sent) > 0,
            })
            lag = samples(http_get(f"http://127.0.0.1:{VP_PORT}/metrics", timeout=30)[1] or "",
                          "valuepulse_consumer_lag_messages")
            out["lag_end"] = int(sum(v for _, v in lag))
        except Failure as e:
            out.update({"ok": False, "note": str(e)})
        finally:
            stop(proc)
        log(f"live: {json.dumps(out)}")
        return out

    # ---- profile

    def profile(self, outdir):
        """Where valuepulse's replay wall time goes: per-thread CPU and
        switches at ready, perf stat, a perf profile, librdkafka fetch
        debug logs, and a run with fetch.queue.backoff.ms=0."""
        os.makedirs(outdir, exist_ok=True)
        found = {}
        # 1. threads and librdkafka fetch debug
        dbg = open(os.path.join(outdir, "fetch-debug.log"), "wb")
        env = self.vp_env(self.uid("vp-prof"), {
            "VALUEPULSE__KAFKA__PROPERTIES__DEBUG": "fetch",
            "VALUEPULSE__LOG__LEVEL": "warn,valuepulse::ingest::kafka=debug",
        })
        proc, start = self.vp_start(env, stderr=dbg)
        try:
            found["wall_s_debug"] = self.vp_wait_ready(proc, start)
            found["cpu_s_debug"] = proc_cpu(proc.pid)
            found["threads"] = sorted(threads(proc.pid), key=lambda t: -t[1])
        finally:
            stop(proc)
            dbg.close()
        with open(dbg.name, errors="replace") as f:
            text = f.read()
        reasons = {}
        for m in re.finditer(r"[Ff]etch backoff for (\d+)ms: ([^\"\n]*?)(?:\"|$)", text,
                             re.MULTILINE):
            key = f"{m.group(1)} ms: {m.group(2).strip()[:80]}"
            reasons[key] = reasons.get(key, 0) + 1
        found["fetch_backoffs"] = sorted(reasons.items(), key=lambda kv: -kv[1])[:10]
        # 2. perf stat and perf record
        if shutil.which("perf"):
            stat_file = os.path.join(outdir, "perf-stat.txt")
            proc, start = self.vp_start(
                self.vp_env(self.uid("vp-perfstat")),
                ["perf", "stat", "-e", "task-clock,context-switches,cpu-migrations,page-faults",
                 "-o", stat_file, "--"])
            try:
                found["wall_s_perf_stat"] = self.vp_wait_ready(proc, start)
            finally:
                stop_child_of(proc)
            with open(stat_file) as f:
                found["perf_stat"] = f.read()
            data = os.path.join(outdir, "perf.data")
            proc, start = self.vp_start(
                self.vp_env(self.uid("vp-perfrec")),
                ["perf", "record", "-F", "499", "-o", data, "--"])
            try:
                found["wall_s_perf_record"] = self.vp_wait_ready(proc, start)
            finally:
                stop_child_of(proc)
            rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                                  "--sort", "comm,dso,sym", "-g", "none", "--percent-limit", "0.7"],
                                 capture_output=True, text=True)
            with open(os.path.join(outdir, "perf-report.txt"), "w") as f:
                f.write(rep.stdout)
            found["perf_top"] = [l for l in rep.stdout.splitlines()
                                 if l.strip() and not l.startswith("#")][:30]
            rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                                  "--sort", "comm", "-g", "none"],
                                 capture_output=True, text=True)
            found["perf_by_thread"] = [l for l in rep.stdout.splitlines()
                                       if l.strip() and not l.startswith("#")][:15]
        # 3. the clue
        cfg = os.path.join(outdir, "backoff0.toml")
        with open(cfg, "w") as f:
            f.write('[kafka.properties]\n"fetch.queue.backoff.ms" = "0"\n')
        found["backoff0"] = self.run_valuepulse("profile", "valuepulse-backoff0", config=cfg)
        found["count_backoff0"] = self.run_rdkafka_count(
            "profile", "rdkafka-count-backoff0", ["fetch.queue.backoff.ms=0"])
        with open(os.path.join(outdir, "profile.json"), "w") as f:
            json.dump(found, f, indent=1)
        return found


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


# ------------------------------------------------------------------ report

def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    java = sh(["java", "-version"]) or subprocess.run(
        ["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    kcat_v = re.search(r"Version (\S+) .*librdkafka (\S+)", sh(["kcat", "-V"]))
    lock = open(os.path.join(ROOT, "Cargo.lock")).read()
    rdsys = re.search(r'name = "rdkafka-sys"\nversion = "([^"]+)"', lock)
    try:
        import confluent_kafka
        ck = (f"confluent-kafka {confluent_kafka.__version__} "
              f"(librdkafka {confluent_kafka.libversion()[0]})")
    except ImportError:
        ck = "confluent-kafka missing"
    return {
        "nproc": os.cpu_count(), "cpu": model, "mem_gib": round(int(mem) / 1048576, 1),
        "kernel": platform.release(), "commit": sh(["git", "-C", ROOT, "rev-parse", "--short",
                                                     "HEAD"]),
        "rustc": sh(["rustc", "--version"]), "java": java.splitlines()[0] if java else "?",
        "kcat": f"kcat {kcat_v.group(1)} (librdkafka {kcat_v.group(2)})" if kcat_v else "kcat ?",
        "rdkafka": f"rdkafka-sys {rdsys.group(1)}" if rdsys else "?", "confluent_kafka": ck,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


def table(results, n):
    by = {}
    for r in results:
        by.setdefault(r["contender"], []).append(r)
    vp = [r for r in by.get("valuepulse", []) if r["ok"]]
    vp_rate = statistics.median(n / r["wall_s"] for r in vp) if vp else None
    vp_eff = statistics.median(n / r["cpu_s"] for r in vp if r["cpu_s"] > 0) if vp else None
    rows = ["| contender | wall s (each round) | events/s (median) | vp ÷ this: events/s | "
            "CPU s (median) | CPU-s per M events | vp ÷ this: events per CPU-s | "
            "peak RSS MB (max) | first scrape s |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, rs in by.items():
        good = [r for r in rs if r["ok"]]
        walls = ", ".join(f"{r['wall_s']:.2f}" + ("" if r["ok"] else " FAILED") for r in rs)
        if not good:
            rows.append(f"| {LABELS.get(name, name)} | {walls} | – | – | – | – | – | – | – |")
            continue
        rate = statistics.median(n / r["wall_s"] for r in good)
        cpu = statistics.median(r["cpu_s"] for r in good)
        eff = n / cpu if cpu else 0
        rss = max(r["rss_mb"] for r in good)
        scr = [r["scrape_s"] for r in good if r["scrape_s"] is not None]
        rows.append(
            f"| {LABELS.get(name, name)} | {walls} | {fmt_rate(rate)} | "
            f"{vp_rate / rate:.2f}× | {cpu:.2f} | {cpu / (n / 1e6):.2f} | "
            f"{(vp_eff / eff if eff else 0):.2f}× | {rss:.0f} | "
            f"{f'{statistics.median(scr):.3f}' if scr else '–'} |"
            if vp_rate else
            f"| {LABELS.get(name, name)} | {walls} | {fmt_rate(rate)} | – | {cpu:.2f} | "
            f"{cpu / (n / 1e6):.2f} | – | {rss:.0f} | – |")
    return "\n".join(rows)


def fmt_rate(x):
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(
        prog="benches/e2e.sh",
        description="valuepulse end to end, side by side with kcat, ConsumerPerformance, "
                    "a Kafka Streams app and a Python consumer, on one local broker.")
    ap.add_argument("--smoke", action="store_true",
                    help="20 000 events, 1 round, 5 s of live load: proves it works (CI)")
    ap.add_argument("--events", type=int, help="usage events to load (default 4 000 000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 2)")
    ap.add_argument("--contenders", default=",".join(CONTENDERS),
                    help=f"comma-separated subset of {','.join(CONTENDERS)}")
    ap.add_argument("--live-seconds", type=int, help="live phase length, 0 to skip (default 20)")
    ap.add_argument("--live-rate", type=float, default=0,
                    help="live usage events/s (default: half valuepulse's median replay rate)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile valuepulse's replay (threads, perf, fetch debug)")
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=28,
                    help="days of event time (< 30 so that replay-by-time reaches every event)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--order", default="time", choices=["time", "shuffled"])
    ap.add_argument("--compression", default="lz4", choices=["lz4", "none"])
    ap.add_argument("--port", type=int,
                    default=int(os.environ.get("VALUEPULSE_BENCH_KAFKA_PORT", "19292")))
    ap.add_argument("--dir", default=os.environ.get("VALUEPULSE_BENCH_KAFKA_DIR",
                                                     "/tmp/vp-kafka-bench"))
    ap.add_argument("--keep-broker", action="store_true", help="leave the broker running")
    ap.add_argument("--json", help="write every measurement to this file")
    args = ap.parse_args()
    args.events = args.events or (20_000 if args.smoke else 4_000_000)
    args.rounds = args.rounds or 1 if args.smoke else args.rounds or 2
    if args.live_seconds is None:
        args.live_seconds = 5 if args.smoke else 20
    if args.smoke and not args.live_rate:
        args.live_rate = 2000
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = [c for c in contenders if c not in CONTENDERS]
    if unknown:
        ap.error(f"unknown contender(s) {unknown}: choose from {CONTENDERS}")

    info = machine()
    log(f"machine: {info}")
    kenv = dict(os.environ, VALUEPULSE_KAFKA_PORT=str(args.port), VALUEPULSE_KAFKA_DIR=args.dir)
    kafka_local = os.path.join(ROOT, "deploy", "kafka-local.sh")
    log("building valuepulse and benches/count_consumer.rs --release ...")
    build = subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "valuepulse",
                            "--bench", "count_consumer", "--message-format=json-render-diagnostics"],
                           cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    count_consumer = None
    for line in build.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "count_consumer":
            count_consumer = msg["executable"]
    if "kafka-streams" in contenders:
        log("building the Kafka Streams app (mvn) ...")
        sd = os.path.join(ROOT, "benches", "peers", "kafka-streams")
        r = subprocess.run(["mvn", "-B", "-q", "-Dstyle.color=never", "package",
                            "dependency:copy-dependencies", "-DincludeScope=runtime",
                            "-DoutputDirectory=target/lib", "-Dmaven.test.skip=true"],
                           cwd=sd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:], file=sys.stderr)
            raise SystemExit("e2e: the Kafka Streams app did not build (maven output above)")
    bootstrap = subprocess.run([kafka_local, "start"], env=kenv, check=True,
                               stdout=subprocess.PIPE, text=True).stdout.strip()
    failed = False
    results, live, prof = [], None, None
    try:
        bench = Bench(args, bootstrap)
        bench.count_consumer = count_consumer
        log(f"loading {args.events} usage events into {USAGE_TOPIC} (4 partitions) ...")
        t0 = time.monotonic()
        load = subprocess.run(
            [bench.vp, "loadgen", "--brokers", bootstrap, "--usage-topic", USAGE_TOPIC,
             "--deploys-topic", DEPLOYS_TOPIC, "--incidents-topic", INCIDENTS_TOPIC,
             "--events", str(args.events), "--features", str(args.features),
             "--users", str(args.users), "--days", str(args.days), "--seed", str(args.seed),
             "--order", args.order, "--compression", args.compression, "--partitions", "4"],
            env=clean_env(), stderr=subprocess.PIPE, text=True)
        sys.stderr.write(load.stderr)
        if load.returncode != 0:
            raise SystemExit(f"e2e: loadgen failed (exit {load.returncode})")
        m = re.search(r"summary events=(\d+) usage=(\d+) bytes=(\d+) usage_bytes=(\d+) "
                      r"seconds=([\d.]+)", load.stderr)
        loaded = {"usage": int(m.group(2)), "bytes_all": int(m.group(3)),
                  "usage_bytes": int(m.group(4)), "seconds": float(m.group(5)),
                  "wall": time.monotonic() - t0}
        bench.warm_up()
        for rnd in range(1, args.rounds + 1):
            for c in contenders:
                results.append(bench.run(c, rnd))
        failed = not all(r["ok"] for r in results)
        if args.profile:  # before live, which adds records to the topic
            prof = bench.profile(os.path.join(bench.work, "profile"))
        if "valuepulse" in contenders and args.live_seconds > 0:
            rates = [args.events / r["wall_s"] for r in results
                     if r["contender"] == "valuepulse" and r["ok"]]
            rate = args.live_rate or (statistics.median(rates) / 2 if rates else 1000)
            live = bench.live(rate, args.live_seconds)
            failed = failed or not live.get("ok")
        if prof:
            results += [prof["backoff0"], prof["count_backoff0"]]
    finally:
        if not args.keep_broker:
            subprocess.run([kafka_local, "stop"], env=kenv, stdout=subprocess.DEVNULL)
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

    print(f"\n## valuepulse end to end, {args.events:,} usage events, {args.rounds} round(s)\n")
    print(f"Machine: {info['nproc']} cores, {info['cpu']}, {info['mem_gib']} GiB; "
          f"{info['kernel']}; {info['rustc']}, {info['rdkafka']} (librdkafka of valuepulse and "
          f"count_consumer); {info['java']}; {info['kcat']}; Python {info['python']}, "
          f"{info['confluent_kafka']}. Commit {info['commit']}, {info['date']}; "
          f"load average {' '.join(info['loadavg_start'])} at start, "
          f"{' '.join(info['loadavg_end'])} at end.")
    print(f"Data: {loaded['usage']:,} usage events, mean "
          f"{loaded['usage_bytes'] / max(1, loaded['usage']):.0f} B, {args.features} features, "
          f"{args.users:,} users, {args.days} days, order {args.order}, {args.compression}, "
          f"4 partitions; loaded in {loaded['seconds']:.1f} s "
          f"({loaded['usage'] / loaded['seconds'] / 1e3:.0f} k events/s).\n")
    print(table(results, args.events))
    if live:
        print()
        if live.get("ok"):
            print(f"Live (valuepulse): {live['rate_achieved']:.0f} usage events/s achieved "
                  f"(target {live['rate_target']:.0f}) for {live['seconds']} s; "
                  f"{live['markers']} markers. Event → visible in /metrics: "
                  f"p50 {live['latency_p50']:.3f} s, p99 {live['latency_p99']:.3f} s, "
                  f"max {live['latency_max']:.3f} s (to the end of the scrape that showed it; "
                  f"to its start: p50 {live['latency_start_p50']:.3f} s, "
                  f"p99 {live['latency_start_p99']:.3f} s). Scrape itself: p50 "
                  f"{live['scrape_p50']:.3f} s, p99 {live['scrape_p99']:.3f} s over "
                  f"{live['scrapes']} scrapes. valuepulse CPU {live['cpu_s']:.1f} s; "
                  f"lag at the end {live['lag_end']}.")
        else:
            print(f"Live (valuepulse): FAILED: {live}")
    if prof:
        print("\nProfile of valuepulse's replay (see also "
              f"{os.path.join(bench.work, 'profile')}):")
        print(f"- with librdkafka debug=fetch: ready in {prof['wall_s_debug']:.2f} s, "
              f"CPU {prof['cpu_s_debug']:.2f} s")
        print("- threads at ready (name, CPU s, voluntary switches): " + "; ".join(
            f"{n} {c:.2f} s {v}" for n, c, v in prof["threads"][:12]))
        print("- librdkafka fetch backoffs (count by reason): " + "; ".join(
            f"{v}× {k}" for k, v in prof["fetch_backoffs"]) if prof["fetch_backoffs"] else
            "- librdkafka fetch backoffs: none logged")
        if "perf_stat" in prof:
            print("- perf stat:\n" + "\n".join("    " + l for l in prof["perf_stat"].splitlines()
                                               if l.strip()))
            print("- perf record, by thread:\n" + "\n".join("    " + l
                                                           for l in prof["perf_by_thread"]))
            print("- perf record, top symbols:\n" + "\n".join("    " + l
                                                             for l in prof["perf_top"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "args": vars(args), "load": loaded, "results": results,
                       "live": live, "profile": prof}, f, indent=1, default=str)
    bad = [r for r in results if not r["ok"]]
    for r in bad:
        print(f"FAILED: {r['contender']} round {r['round']}: {r['note']}", file=sys.stderr)
    if failed:
        print("e2e: FAILED: a contender did not read all events (see above)", file=sys.stderr)
        return 1
    print(f"\ne2e: {len(results)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
