"""Feature usage per feature and sliding window, by hand, in Python.

What a team writes when it does not run valuepulse: a confluent-kafka
consumer loop that decodes each usage event with `json.loads`, parses its
time with `datetime.fromisoformat`, and keeps, per feature and hour of event
time, an event count and the exact set of user ids. A prometheus_client
collector serves, at scrape, per feature and window (1d, 7d, 30d ending
now, every hour bucket overlapping the window): events, distinct users (set
union: exact), and distinct active users. Events older than the longest
window plus an hour, or more than 5 minutes ahead, are dropped and counted.

Consumer settings are the library defaults apart from what the job needs
(group, earliest, no auto commit): what a team starts from.

For benches/e2e.sh: with --expect N it prints `READY processed=N` on stdout
once N records are processed, and keeps serving until SIGTERM.
"""

import argparse
import json
import signal
import sys
import threading
import time
from datetime import datetime

from confluent_kafka import Consumer, KafkaException
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily

HOUR = 3600
WINDOWS = (("1d", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400))
GRACE = HOUR
SKEW = 300


class State:
    """feature -> hour start (s) -> [events, set of users]."""

    def __init__(self):
        self.features = {}
        self.lock = threading.Lock()
        self.accepted = 0
        self.dropped = 0
        self.invalid = 0


class Collector:
    def __init__(self, state):
        self.state = state

    def collect(self):
        now = time.time()
        events = GaugeMetricFamily(
            "usage_feature_events", "Usage events of the feature in the window.",
            labels=["feature", "window"])
        users = GaugeMetricFamily(
            "usage_feature_users", "Distinct users of the feature in the window (exact).",
            labels=["feature", "window"])
        active = GaugeMetricFamily(
            "usage_active_users", "Distinct users over all features in the window (exact).",
            labels=["window"])
        records = CounterMetricFamily(
            "usage_records", "Records read, by outcome.", labels=["outcome"])
        s = self.state
        with s.lock:
            all_users = {name: set() for name, _ in WINDOWS}
            for feature, buckets in s.features.items():
                for name, width in WINDOWS:
                    start = (int(now - width) // HOUR) * HOUR
                    n = 0
                    who = set()
                    for hour, (count, us) in buckets.items():
                        if hour >= start:
                            n += count
                            who |= us
                    events.add_metric([feature, name], n)
                    users.add_metric([feature, name], len(who))
                    all_users[name] |= who
            for name, _ in WINDOWS:
                active.add_metric([name], len(all_users[name]))
            records.add_metric(["accepted"], s.accepted)
            records.add_metric(["dropped"], s.dropped)
            records.add_metric(["invalid"], s.invalid)
        yield events
        yield users
        yield active
        yield records


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--port", type=int, default=19502)
    ap.add_argument("--expect", type=int, default=0)
    args = ap.parse_args()

    state = State()
    REGISTRY.register(Collector(state))
    start_http_server(args.port, addr="127.0.0.1")

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([args.topic])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    processed = 0
    announced = args.expect <= 0
    longest = WINDOWS[-1][1]
    try:
        while not stop.is_set():
            batch = consumer.consume(num_messages=1000, timeout=0.5)
            now = time.time()
            with state.lock:
                for msg in batch:
                    if msg.error():
                        raise KafkaException(msg.error())
                    processed += 1
                    try:
                        ev = json.loads(msg.value())
                        feature, user = ev["feature"], ev["user"]
                        at = datetime.fromisoformat(ev["at"]).timestamp()
                    except (ValueError, KeyError, TypeError):
                        state.invalid += 1
                        continue
                    if at < now - longest - GRACE or at > now + SKEW:
                        state.dropped += 1
                        continue
                    hour = (int(at) // HOUR) * HOUR
                    buckets = state.features.setdefault(feature, {})
                    bucket = buckets.get(hour)
                    if bucket is None:
                        bucket = buckets[hour] = [0, set()]
                    bucket[0] += 1
                    bucket[1].add(user)
                    state.accepted += 1
            if not announced and processed >= args.expect:
                print(f"READY processed={processed}", flush=True)
                announced = True
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
