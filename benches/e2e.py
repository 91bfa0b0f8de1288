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
  and counts to the high watermarks taken at start: spawn to exit; its
  count must be N.
- c-count-poll and c-count-batch (not run unless named):
  benches/peers/c-count/count_c.c, built with gcc against the librdkafka.a
  of valuepulse's own rdkafka-sys build, counting like count_consumer.rs;
  one rd_kafka_consumer_poll() a message, or rd_kafka_consume_batch_queue()
  1,024 at a time: what a batch read would save with the same library.
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

Profile (--profile, valuepulse only; before the live phase): a replay with
the process CPU sampled every 50 ms from /proc (idle stretches = waiting),
per-thread CPU at ready, `perf stat`, `perf record` (flat profile and
callers), and, as clues, valuepulse and the count-only consumer with
fetch.queue.backoff.ms=0.

Files: e2e.py (options, order of runs, report), e2e_contenders.py (how
each contender, the live phase and the profile are run and measured),
e2e_proc.py (/proc, HTTP and process helpers).
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_contenders import (CONTENDERS, DEFAULT_CONTENDERS, DEPLOYS_TOPIC, INCIDENTS_TOPIC, LABELS,  # noqa: E402
                            ROOT, USAGE_TOPIC, Bench)
from e2e_proc import clean_env, log  # noqa: E402


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

def build_count_c(rdkafka_out):
    """benches/peers/c-count/count_c.c, linked against the librdkafka.a that
    rdkafka-sys built for valuepulse (same version, same build options)."""
    if shutil.which("gcc") is None:
        raise SystemExit("e2e: the c-count-* contenders need gcc: apt-get install gcc")
    lib = os.path.join(rdkafka_out or "", "src", "librdkafka.a")
    if not os.path.exists(lib):
        raise SystemExit(f"e2e: rdkafka-sys's librdkafka.a not found (out dir {rdkafka_out!r})")
    header = os.path.join(os.path.dirname(lib), "rdkafka.h")
    if not os.path.exists(header):
        # rdkafka-sys builds in its out dir; the header stays in its source tree.
        meta = json.loads(subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"], cwd=ROOT, check=True,
            stdout=subprocess.PIPE, text=True).stdout)
        sys_pkg = next(p for p in meta["packages"] if p["name"] == "rdkafka-sys")
        header = os.path.join(os.path.dirname(sys_pkg["manifest_path"]), "librdkafka", "src", "rdkafka.h")
    src = os.path.join(ROOT, "benches", "peers", "c-count", "count_c.c")
    exe = os.path.join(ROOT, "target", "release", "count_c")
    log("building benches/peers/c-count/count_c.c (gcc) ...")
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-I", os.path.dirname(header), "-o", exe, src, lib,
                    "-lssl", "-lcrypto", "-lz", "-lpthread", "-lm", "-ldl"], check=True)
    return exe


def main():
    ap = argparse.ArgumentParser(
        prog="benches/e2e.sh",
        description="valuepulse end to end, side by side with kcat, ConsumerPerformance, "
                    "a Kafka Streams app and a Python consumer, on one local broker.")
    ap.add_argument("--smoke", action="store_true",
                    help="20 000 events, 1 round, 5 s of live load: proves it works (CI)")
    ap.add_argument("--events", type=int, help="usage events to load (default 4 000 000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 2)")
    ap.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS),
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
    kenv = dict(os.environ, VALUEPULSE_KAFKA_PORT=str(args.port), VALUEPULSE_KAFKA_DIR=args.dir, VALUEPULSE_KAFKA_NODES="1")
    kafka_local = os.path.join(ROOT, "deploy", "kafka-local.sh")
    log("building valuepulse and benches/count_consumer.rs --release ...")
    build = subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "valuepulse",
                            "--bench", "count_consumer", "--message-format=json-render-diagnostics"],
                           cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    count_consumer, rdkafka_out = None, None
    for line in build.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "count_consumer":
            count_consumer = msg["executable"]
        if msg.get("reason") == "build-script-executed" and "rdkafka-sys" in msg.get("package_id", ""):
            rdkafka_out = msg["out_dir"]
    count_c = None
    if any(c.startswith("c-count-") for c in contenders):
        count_c = build_count_c(rdkafka_out)
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
        bench.count_c = count_c
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
        idle = prof["idle"]
        print(f"- CPU timeline (50 ms samples, cpu-timeline.tsv): ready in "
              f"{prof['wall_s_timeline']:.2f} s with {prof['cpu_s_timeline']:.2f} CPU-s; from the "
              f"first work on, {idle['idle_s']:.1f} of {idle['span_s']:.1f} s "
              f"({100 * (idle['idle_share'] or 0):.0f} %) under 10 % of a core, in "
              f"{len(idle['gaps_s'])} idle stretches >= 0.3 s: "
              f"{', '.join(f'{g:.2f}' for g in idle['gaps_s'][:40])}")
        print("- threads at ready (name, CPU s, voluntary switches): " + "; ".join(
            f"{n} {c:.2f} s {v}" for n, c, v in prof["threads"][:8]))
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
