/* A do-nothing Kafka consumer in C on valuepulse's own librdkafka (the
 * static library rdkafka-sys builds), for benches/e2e.sh: it reads every
 * partition of a topic from the beginning to the high watermarks taken at
 * start, only counting records, and prints "READ <count>".
 *
 * Mode "poll" takes one message per rd_kafka_consumer_poll() call, like
 * rust-rdkafka's BaseConsumer::poll, which pops the same queue one event at
 * a time; mode "batch" takes up to 1,024 per rd_kafka_consume_batch_queue()
 * call. The pair measures what a batch read would save with the very same
 * client library.
 *
 * Usage: count_c poll|batch BROKERS TOPIC (benches/e2e.py builds it with
 * gcc against the librdkafka.a of the rdkafka-sys build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rdkafka.h"

#define BATCH 1024

static void die(const char *what, const char *detail) {
        fprintf(stderr, "count_c: %s: %s\n", what, detail);
        exit(1);
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
        char err[512];
        if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
                die(k, err);
}

int main(int argc, char **argv) {
        if (argc != 4 || (strcmp(argv[1], "poll") && strcmp(argv[1], "batch")))
                die("usage", "count_c poll|batch BROKERS TOPIC");
        int batch = strcmp(argv[1], "batch") == 0;
        const char *topic = argv[3];
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        set(conf, "bootstrap.servers", argv[2]);
        set(conf, "group.id", "count-c");
        set(conf, "enable.auto.commit", "false");
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
        if (!rk)
                die("rd_kafka_new", err);
        rd_kafka_poll_set_consumer(rk);

        const struct rd_kafka_metadata *md;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        if (e || md->topic_cnt != 1 || md->topics[0].partition_cnt < 1)
                die("metadata", e ? rd_kafka_err2str(e) : "the topic has no partitions");
        int partitions = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);

        rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(partitions);
        long long total = 0;
        for (int p = 0; p < partitions; p++) {
                int64_t low, high;
                e = rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, 10000);
                if (e)
                        die("watermarks", rd_kafka_err2str(e));
                total += high - low;
                rd_kafka_topic_partition_list_add(tpl, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        if ((e = rd_kafka_assign(rk, tpl)))
                die("assign", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(tpl);

        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
        rd_kafka_message_t *msgs[BATCH];
        long long count = 0;
        while (count < total) {
                if (batch) {
                        /* The call waits for a full batch (or the timeout):
                         * ask for no more than are left. */
                        size_t want = total - count < BATCH ? (size_t)(total - count) : BATCH;
                        ssize_t n = rd_kafka_consume_batch_queue(q, 500, msgs, want);
                        if (n < 0)
                                die("consume_batch_queue", rd_kafka_err2str(rd_kafka_last_error()));
                        for (ssize_t i = 0; i < n; i++) {
                                if (msgs[i]->err)
                                        die("consume", rd_kafka_message_errstr(msgs[i]));
                                count++;
                                rd_kafka_message_destroy(msgs[i]);
                        }
                } else {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
                        if (!m)
                                continue;
                        if (m->err)
                                die("consume", rd_kafka_message_errstr(m));
                        count++;
                        rd_kafka_message_destroy(m);
                }
        }
        rd_kafka_queue_destroy(q);
        printf("READ %lld\n", count);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return 0;
}
