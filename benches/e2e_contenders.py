"""The contenders of the e2e benchmark, and how each is run and measured
(see benches/e2e.py for the method), plus valuepulse's live phase and the
replay profile."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid

from e2e_proc import (Failure, clean_env, http_get, idle_gaps, log, pct, proc_cpu,
                      proc_hwm_kb, result, samples, stop, stop_child_of, threads,
                      wait_port_free)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USAGE_TOPIC = "bench-usage"
DEPLOYS_TOPIC = "bench-deploys"
INCIDENTS_TOPIC = "bench-incidents"
MARKER = "vp-bench-marker"
VP_PORT = 19400
STREAMS_PORT = 19401
PY_PORT = 19402
CONTENDERS = ["valuepulse", "valuepulse-1fold", "valuepulse-4k", "rdkafka-count", "kcat", "consumer-perf",
              "kafka-streams", "python-agg", "c-count-poll", "c-count-batch"]
# What runs unless --contenders says otherwise: one valuepulse, with its defaults.
DEFAULT_CONTENDERS = [c for c in CONTENDERS
                      if c not in ("valuepulse-1fold", "valuepulse-4k", "c-count-poll", "c-count-batch")]
# The container image's malloc setting (deploy/Dockerfile): glibc backs its
# heap with transparent huge pages where the kernel's mode is `madvise`.
# valuepulse runs with it here as it runs deployed; valuepulse-4k without.
IMAGE_GLIBC_TUNABLES = "glibc.malloc.hugetlb=1"
LABELS = {
    "valuepulse": "valuepulse `run`, start → `/readyz` 200",
    "valuepulse-1fold": "valuepulse `run` with one fold worker (`ingest.fold_workers = 1`)",
    "valuepulse-4k": "valuepulse `run` without the image's huge-page malloc (`GLIBC_TUNABLES` empty)",
    "rdkafka-count": "Rust rdkafka count-only consumer (valuepulse's librdkafka, do-nothing)",
    "kcat": "kcat -C (Debian's librdkafka, do-nothing)",
    "c-count-poll": "C count-only consumer on valuepulse's librdkafka, one rd_kafka_consumer_poll a message",
    "c-count-batch": "C count-only consumer on valuepulse's librdkafka, rd_kafka_consume_batch_queue (1,024 a call)",
    "consumer-perf": "Kafka ConsumerPerformance (Java, do-nothing)",
    "kafka-streams": "Kafka Streams app (same aggregation)",
    "python-agg": "Python confluent-kafka + prometheus_client (same aggregation)",
    "valuepulse-backoff0": "valuepulse, fetch.queue.backoff.ms=0 (profile run: a clue, not a fix)",
    "rdkafka-count-backoff0": "Rust count-only consumer, fetch.queue.backoff.ms=0 (profile run)",
}


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
            "GLIBC_TUNABLES": IMAGE_GLIBC_TUNABLES,
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

    def run_valuepulse(self, rnd, name="valuepulse", config=None, extra=None):
        proc, start = self.vp_start(self.vp_env(self.uid("vp-bench"), extra), config=config)
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
        return self.run_counter(rnd, name, [self.count_consumer, self.bootstrap, USAGE_TOPIC] + list(props))

    def run_c_count(self, rnd, mode):
        return self.run_counter(rnd, f"c-count-{mode}", [self.count_c, mode, self.bootstrap, USAGE_TOPIC])

    def run_counter(self, rnd, name, cmd):
        """A count-only consumer that exits after printing `READ <count>`."""
        out = []

        def read(stream):
            out.append(stream.read().decode("utf-8", "replace"))

        wall, cpu, rss, rc = self.run_to_exit(cmd, on_stdout=read)
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
            "valuepulse-1fold": lambda rnd: self.run_valuepulse(
                rnd, "valuepulse-1fold", extra={"VALUEPULSE__INGEST__FOLD_WORKERS": "1"}),
            "valuepulse-4k": lambda rnd: self.run_valuepulse(
                rnd, "valuepulse-4k", extra={"GLIBC_TUNABLES": ""}),
            "rdkafka-count": self.run_rdkafka_count,
            "kcat": self.run_kcat,
            "consumer-perf": self.run_consumer_perf,
            "kafka-streams": self.run_kafka_streams,
            "python-agg": self.run_python_agg,
            "c-count-poll": lambda rnd: self.run_c_count(rnd, "poll"),
            "c-count-batch": lambda rnd: self.run_c_count(rnd, "batch"),
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
        """Where valuepulse's replay wall time goes: a CPU timeline with its
        idle stretches, per-thread CPU and switches at ready, perf stat, a
        perf profile (flat, and callers in perf-callers.txt), and runs of
        valuepulse and the count-only consumer with fetch.queue.backoff.ms=0.
        Files land in OUTDIR (printed)."""
        os.makedirs(outdir, exist_ok=True)
        found = {}
        # 1. a CPU timeline: process CPU every 50 ms from spawn to ready
        #    (cheap: /proc reads), to tell working from waiting
        proc, start = self.vp_start(self.vp_env(self.uid("vp-prof")))
        timeline = []  # (seconds since spawn, process CPU s)
        try:
            deadline = start + self.timeout
            ready_at = None
            while ready_at is None:
                now = time.monotonic()
                if now > deadline or proc.poll() is not None:
                    raise Failure("valuepulse did not become ready (profile run)")
                timeline.append((now - start, proc_cpu(proc.pid)))
                if http_get(f"http://127.0.0.1:{VP_PORT}/readyz", timeout=1.0)[0] == 200:
                    ready_at = time.monotonic() - start
                    break
                time.sleep(max(0.0, 0.05 - (time.monotonic() - now)))
            found["wall_s_timeline"] = ready_at
            found["cpu_s_timeline"] = proc_cpu(proc.pid)
            found["threads"] = sorted(threads(proc.pid), key=lambda t: -t[1])
        finally:
            stop(proc)
        with open(os.path.join(outdir, "cpu-timeline.tsv"), "w") as f:
            f.write("seconds\tcpu_s\n" + "".join(f"{t:.3f}\t{c:.2f}\n" for t, c in timeline))
        found["idle"] = idle_gaps(timeline)
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
                ["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o", data, "--"])
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
            rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                                  "--sort", "sym", "-G", "--percent-limit", "2"],
                                 capture_output=True, text=True)
            with open(os.path.join(outdir, "perf-callers.txt"), "w") as f:
                f.write(rep.stdout)
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
