package valuepulse.bench;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;
import org.apache.datasketches.hll.Union;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Feature usage per feature and sliding window (1d, 7d, 30d of event time, ending now): events and
 * distinct users, served on {@code /metrics} in the Prometheus text format. The Kafka Streams
 * application a JVM team would write instead of valuepulse, given the same design:
 *
 * <ul>
 *   <li>Usage is keyed by user, so each task (one per partition) aggregates its own partition and
 *       no repartition topic is needed; distinct users of tasks are unioned at scrape.
 *   <li>State is in memory and rebuilt by reading the topic from the beginning (no changelog, no
 *       RocksDB): the same replay-on-start model as valuepulse, and the cheapest Streams can do.
 *   <li>Per task and feature, hourly buckets of an event count and an Apache DataSketches
 *       HyperLogLog (lgK 14, HLL_8: about 0.8 % standard error, like valuepulse). A window counts
 *       every bucket overlapping it, so edges are hour-aligned.
 *   <li>Events older than the longest window plus one hour of grace, or more than 5 minutes in
 *       the future, are dropped and counted, as valuepulse does.
 * </ul>
 *
 * <p>For the benchmark, {@code --expect N} prints {@code READY processed=N} on stdout as soon as N
 * records have been processed; it keeps running (and serving) until SIGTERM.
 *
 * <p>Usage: {@code UsageStreams --brokers H:P --topic T --app-id ID --port P [--expect N]
 * [--threads 2]}
 */
public final class UsageStreams {
  static final long HOUR_MS = 3_600_000L;
  static final long DAY_MS = 24 * HOUR_MS;
  static final String[] WINDOW_NAMES = {"1d", "7d", "30d"};
  static final long[] WINDOW_MS = {DAY_MS, 7 * DAY_MS, 30 * DAY_MS};
  static final long GRACE_MS = HOUR_MS;
  static final long SKEW_MS = 5 * 60_000L;
  static final int LG_K = 14;

  static final ObjectMapper MAPPER =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  static final Set<Shard> SHARDS = ConcurrentHashMap.newKeySet();
  static final LongAdder PROCESSED = new LongAdder();
  static final LongAdder DROPPED = new LongAdder();
  static final LongAdder INVALID = new LongAdder();

  /** A usage event (native v1); other fields are ignored. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class Usage {
    public String feature;
    public String user;
    public String at;
  }

  /** One hour of one feature on one partition. */
  static final class Bucket {
    long events;
    final HllSketch users = new HllSketch(LG_K, TgtHllType.HLL_8);
  }

  /** One task's (partition's) state: feature → hour start → bucket. */
  static final class Shard {
    final Map<String, TreeMap<Long, Bucket>> features = new HashMap<>();

    synchronized void add(String feature, String user, long at) {
      long hour = Math.floorDiv(at, HOUR_MS) * HOUR_MS;
      Bucket b = features.computeIfAbsent(feature, f -> new TreeMap<>()).get(hour);
      if (b == null) {
        b = new Bucket();
        features.get(feature).put(hour, b);
      }
      b.events++;
      b.users.update(user);
    }

    /** Drops buckets that no window can reach any more. */
    synchronized void expire(long now) {
      long horizon = now - WINDOW_MS[WINDOW_MS.length - 1] - GRACE_MS - HOUR_MS;
      for (TreeMap<Long, Bucket> buckets : features.values()) {
        buckets.headMap(horizon).clear();
      }
    }
  }

  /** The processor of one task. */
  static final class UsageProcessor implements Processor<String, byte[], Void, Void> {
    private final Shard shard = new Shard();
    private long lastExpiry;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      SHARDS.add(shard);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      PROCESSED.increment();
      Usage u;
      long at;
      try {
        u = MAPPER.readValue(record.value(), Usage.class);
        if (u.feature == null || u.user == null || u.at == null) {
          INVALID.increment();
          return;
        }
        at = Instant.parse(u.at).toEpochMilli();
      } catch (Exception e) {
        INVALID.increment();
        return;
      }
      long now = System.currentTimeMillis();
      if (at < now - WINDOW_MS[WINDOW_MS.length - 1] - GRACE_MS || at > now + SKEW_MS) {
        DROPPED.increment();
        return;
      }
      shard.add(u.feature, u.user, at);
      if (now - lastExpiry > 60_000) {
        lastExpiry = now;
        shard.expire(now);
      }
    }

    @Override
    public void close() {
      SHARDS.remove(shard);
    }
  }

  static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  /** The Prometheus text exposition of every shard's state at {@code now}. */
  static String render(long now) {
    // feature -> window -> [events, union of users]
    Map<String, long[]> events = new TreeMap<>();
    Map<String, Union[]> users = new TreeMap<>();
    Union[] active = new Union[WINDOW_MS.length];
    for (int w = 0; w < active.length; w++) {
      active[w] = new Union(LG_K);
    }
    List<Shard> shards = new ArrayList<>(SHARDS);
    for (Shard shard : shards) {
      synchronized (shard) {
        for (Map.Entry<String, TreeMap<Long, Bucket>> f : shard.features.entrySet()) {
          long[] ev = events.computeIfAbsent(f.getKey(), k -> new long[WINDOW_MS.length]);
          Union[] us =
              users.computeIfAbsent(
                  f.getKey(),
                  k -> {
                    Union[] a = new Union[WINDOW_MS.length];
                    for (int w = 0; w < a.length; w++) {
                      a[w] = new Union(LG_K);
                    }
                    return a;
                  });
          for (int w = 0; w < WINDOW_MS.length; w++) {
            // every bucket overlapping [now - window, now]
            long from = Math.floorDiv(now - WINDOW_MS[w], HOUR_MS) * HOUR_MS;
            for (Bucket b : f.getValue().tailMap(from, true).values()) {
              ev[w] += b.events;
              us[w].update(b.users);
              active[w].update(b.users);
            }
          }
        }
      }
    }
    StringBuilder out = new StringBuilder(64 * 1024);
    out.append("# HELP usage_feature_events Usage events of the feature in the window.\n");
    out.append("# TYPE usage_feature_events gauge\n");
    for (Map.Entry<String, long[]> e : events.entrySet()) {
      for (int w = 0; w < WINDOW_MS.length; w++) {
        out.append("usage_feature_events{feature=\"").append(escape(e.getKey()))
            .append("\",window=\"").append(WINDOW_NAMES[w]).append("\"} ")
            .append(e.getValue()[w]).append('\n');
      }
    }
    out.append("# HELP usage_feature_users Distinct users of the feature in the window (HLL).\n");
    out.append("# TYPE usage_feature_users gauge\n");
    for (Map.Entry<String, Union[]> e : users.entrySet()) {
      for (int w = 0; w < WINDOW_MS.length; w++) {
        out.append("usage_feature_users{feature=\"").append(escape(e.getKey()))
            .append("\",window=\"").append(WINDOW_NAMES[w]).append("\"} ")
            .append(Math.round(e.getValue()[w].getEstimate())).append('\n');
      }
    }
    out.append("# HELP usage_active_users Distinct users over all features in the window (HLL).\n");
    out.append("# TYPE usage_active_users gauge\n");
    for (int w = 0; w < WINDOW_MS.length; w++) {
      out.append("usage_active_users{window=\"").append(WINDOW_NAMES[w]).append("\"} ")
          .append(Math.round(active[w].getEstimate())).append('\n');
    }
    out.append("# HELP usage_records_total Records read, by outcome.\n");
    out.append("# TYPE usage_records_total counter\n");
    long invalid = INVALID.sum();
    long dropped = DROPPED.sum();
    out.append("usage_records_total{outcome=\"accepted\"} ")
        .append(PROCESSED.sum() - invalid - dropped).append('\n');
    out.append("usage_records_total{outcome=\"invalid\"} ").append(invalid).append('\n');
    out.append("usage_records_total{outcome=\"dropped\"} ").append(dropped).append('\n');
    return out.toString();
  }

  static String arg(Map<String, String> args, String name, String dflt) {
    String v = args.getOrDefault(name, dflt);
    if (v == null) {
      System.err.println("UsageStreams: missing " + name);
      System.exit(64);
    }
    return v;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      args.put(argv[i], argv[i + 1]);
    }
    String brokers = arg(args, "--brokers", null);
    String topic = arg(args, "--topic", null);
    String appId = arg(args, "--app-id", "usage-streams-" + System.currentTimeMillis());
    int port = Integer.parseInt(arg(args, "--port", "19500"));
    long expect = Long.parseLong(arg(args, "--expect", "0"));
    String threads = arg(args, "--threads", "2");

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    p.put(StreamsConfig.STATE_DIR_CONFIG, "/tmp/usage-streams-state-" + appId);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(topic, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .process(UsageProcessor::new);
    KafkaStreams streams = new KafkaStreams(builder.build(), p);

    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
    http.createContext(
        "/metrics",
        ex -> {
          byte[] body = render(System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          ex.sendResponseHeaders(200, body.length);
          try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
          }
        });
    http.setExecutor(Executors.newSingleThreadExecutor());
    http.start();

    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(5));
                  http.stop(0);
                  done.countDown();
                }));
    streams.start();
    if (expect > 0) {
      while (PROCESSED.sum() < expect) {
        Thread.sleep(2);
      }
      System.out.println("READY processed=" + PROCESSED.sum());
      System.out.flush();
    }
    done.await();
  }
}
