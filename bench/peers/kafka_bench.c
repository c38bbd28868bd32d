/* kafka-bench: ferry-bench's workload through a Kafka client (librdkafka), with ferry-bench's
 * flags and JSON, so Ferry's Kafka door is measured beside its gRPC door with the same figures.
 *
 * One topic "bench" with one partition (created by the admin API), written by one producer
 * (acks=all, at most --window records awaiting their delivery report, librdkafka's own
 * batching with linger.ms=1), read by one group consumer ("bench-group", from the earliest
 * offset). Extra flag: --compression=none|gzip|snappy|lz4|zstd (compression.type). Modes as
 * ferry-bench: produce (closed loop), consume (pre-load, then catch up), both (publish at
 * --rate while consuming: end-to-end latency from each record's intended send time).
 * librdkafka itself spends CPU per record (its queues and threads): on 2 cores the client may
 * be the limit, which the JSON's client CPU seconds show. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "peer_bench.h"

#define TOPIC "bench"
#define GROUP "bench-group"

static const char *compression = "none";

static void set(rd_kafka_conf_t *conf, const char *key, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    pb_die("kafka-bench: %s=%s: %s", key, value, err);
  }
}

static rd_kafka_conf_t *base_conf(const struct pb_config *c) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char servers[300];
  snprintf(servers, sizeof servers, "%s:%d", c->host, c->port);
  set(conf, "bootstrap.servers", servers);
  set(conf, "broker.address.family", "v4");
  return conf;
}

/* Creates the topic with one partition; an existing one (a reused server) is deleted first. */
static void create_topic(rd_kafka_t *rk) {
  char err[512];
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_DeleteTopic_t *del = rd_kafka_DeleteTopic_new(TOPIC);
  rd_kafka_DeleteTopics(rk, &del, 1, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
  if (ev) rd_kafka_event_destroy(ev); /* UNKNOWN_TOPIC on a fresh server: fine */
  rd_kafka_DeleteTopic_destroy(del);

  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(TOPIC, 1, 1, err, sizeof err);
  if (!nt) pb_die("kafka-bench: NewTopic: %s", err);
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  ev = rd_kafka_queue_poll(q, 30000);
  if (!ev) pb_die("kafka-bench: CreateTopics: no answer in 30 s");
  const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t **topics = rd_kafka_CreateTopics_result_topics(res, &n);
  if (rd_kafka_event_error(ev) || n != 1 ||
      (rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
       rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)) {
    pb_die("kafka-bench: CreateTopics: %s",
           n == 1 ? rd_kafka_err2str(rd_kafka_topic_result_error(topics[0]))
                  : rd_kafka_event_error_string(ev));
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
}

/* Delivery reports arrive on the thread that calls rd_kafka_poll (the producer's): the only
 * writer of the ack histogram. The record's intended send time travels as its opaque. */
struct producer {
  rd_kafka_t *rk;
  const struct pb_config *c;
  struct pb_hist *ack_hist;
  long acked;
  long failed;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct producer *p = opaque;
  if (m->err) {
    if (p->failed++ == 0)
      fprintf(stderr, "kafka-bench: delivery failed: %s\n", rd_kafka_err2str(m->err));
    return;
  }
  uint64_t sent = (uint64_t)(uintptr_t)m->_private;
  uint64_t now = pb_now_ns();
  pb_hist_add(p->ack_hist, now > sent ? (now - sent) / 1000 : 0);
  __atomic_fetch_add(&p->acked, 1, __ATOMIC_RELEASE);
}

static long answered(struct producer *p) {
  return __atomic_load_n(&p->acked, __ATOMIC_ACQUIRE) + p->failed;
}

static void wait_answers(struct producer *p, long sent, long outstanding, uint64_t deadline) {
  while (sent - answered(p) > outstanding) {
    if (pb_now_ns() > deadline) {
      pb_die("kafka-bench: %ld of %ld records acknowledged before --timeout", answered(p), sent);
    }
    rd_kafka_poll(p->rk, 1);
  }
}

/* Waits until the producer's metadata shows the topic's partition with a leader: without it,
 * the clock would start while librdkafka still holds the topic as unknown (it was deleted and
 * created through this same handle) and the first records wait for its next metadata refresh,
 * about a second, which no steady-state figure includes. */
static void wait_for_leader(rd_kafka_t *rk) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, TOPIC, NULL);
  if (!rkt) pb_die("kafka-bench: topic handle: %s", rd_kafka_err2str(rd_kafka_last_error()));
  uint64_t deadline = pb_now_ns() + 30000000000ull;
  for (;;) {
    const struct rd_kafka_metadata *md = NULL;
    int ready = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
              md->topics[0].partition_cnt == 1 && md->topics[0].partitions[0].leader >= 0;
      rd_kafka_metadata_destroy(md);
    }
    if (ready) break;
    if (pb_now_ns() > deadline) pb_die("kafka-bench: topic " TOPIC " has no leader after 30 s");
    rd_kafka_poll(rk, 100);
  }
  rd_kafka_topic_destroy(rkt);
}

static void produce(struct producer *p, struct pb_result *r) {
  const struct pb_config *c = p->c;
  char *buf = malloc((size_t)c->record_size);
  pb_payload_init(buf, c->record_size);
  double interval_ns = c->rate > 0 ? 1e9 / (double)c->rate : 0;
  uint64_t t0 = pb_now_ns();
  uint64_t deadline = t0 + (uint64_t)(c->timeout_s * 1e9);
  uint64_t offer_deadline = pb_offer_deadline(c, t0);
  long base = answered(p);
  long i = 0;
  for (; i < c->records; i++) {
    uint64_t send = pb_now_ns();
    if (offer_deadline != 0 && send > offer_deadline) break;
    if (c->rate > 0) {
      uint64_t intended = t0 + (uint64_t)((double)i * interval_ns);
      if (intended > send) pb_sleep_until(intended > send + 50000 ? intended : send + 50000);
      send = intended;
    }
    wait_answers(p, base + i, c->window - 1, deadline);
    pb_payload_stamp(buf, send);
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          p->rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(0),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(buf, (size_t)c->record_size),
          RD_KAFKA_V_OPAQUE((void *)(uintptr_t)send), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        pb_die("kafka-bench: produce: %s", rd_kafka_err2str(err));
      rd_kafka_poll(p->rk, 1);
    }
    rd_kafka_poll(p->rk, 0);
  }
  __atomic_store_n(&r->offered, i, __ATOMIC_RELAXED);
  rd_kafka_flush(p->rk, (int)(c->timeout_s * 1000));
  wait_answers(p, base + i, 0, deadline);
  r->pub_seconds = (double)(pb_now_ns() - t0) / 1e9;
  r->pub_records = __atomic_load_n(&p->acked, __ATOMIC_ACQUIRE) - base;
  if (p->failed > 0) pb_die("kafka-bench: %ld records not delivered", p->failed);
  free(buf);
}

struct consumer {
  const struct pb_config *c;
  struct pb_result *r;
  rd_kafka_t *rk;
  struct pb_hist *e2e; /* NULL: no latency (catch-up) */
  uint64_t t0;
  long received;
  double seconds;
};

static void *consume(void *arg) {
  struct consumer *k = arg;
  const struct pb_config *c = k->c;
  uint64_t deadline = k->t0 + (uint64_t)(c->timeout_s * 1e9);
  uint64_t last = k->t0;
  long target;
  while (k->received < (target = __atomic_load_n(&k->r->offered, __ATOMIC_RELAXED))) {
    if (pb_now_ns() > deadline) {
      pb_die("kafka-bench: consumer got %ld of %ld records before --timeout", k->received, target);
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 100);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        fprintf(stderr, "kafka-bench: consume: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    last = pb_now_ns();
    if (k->e2e) {
      uint64_t sent = pb_payload_time(m->payload, m->len);
      pb_hist_add(k->e2e, last > sent ? (last - sent) / 1000 : 0);
    }
    k->received++;
    rd_kafka_message_destroy(m);
  }
  k->seconds = (double)(last - k->t0) / 1e9;
  return NULL;
}

static rd_kafka_t *new_consumer(const struct pb_config *c) {
  rd_kafka_conf_t *conf = base_conf(c);
  set(conf, "group.id", GROUP);
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "enable.auto.commit", "true");
  set(conf, "fetch.wait.max.ms", "10");
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) pb_die("kafka-bench: consumer: %s", err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, TOPIC, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
  if (e) pb_die("kafka-bench: subscribe: %s", rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(topics);
  return rk;
}

int main(int argc, char **argv) {
  /* --compression is this client's own flag; the rest are ferry-bench's. */
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0;
  for (int i = 0; i < argc; i++) {
    if (i > 0 && strncmp(argv[i], "--compression=", 14) == 0) {
      compression = argv[i] + 14;
    } else {
      rest[nrest++] = argv[i];
    }
  }
  struct pb_config c;
  pb_parse_args(&c, nrest, rest, "a Kafka broker (librdkafka)", 9092, "broker-default");
  static struct pb_result r;

  rd_kafka_conf_t *conf = base_conf(&c);
  set(conf, "acks", "all");
  set(conf, "linger.ms", "1");
  set(conf, "compression.type", compression);
  set(conf, "queue.buffering.max.messages", "1000000");
  static struct producer prod;
  prod.c = &c;
  prod.ack_hist = &r.pub_ack;
  rd_kafka_conf_set_opaque(conf, &prod);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char err[512];
  prod.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!prod.rk) pb_die("kafka-bench: producer: %s", err);
  create_topic(prod.rk);
  wait_for_leader(prod.rk);

  struct consumer k = {.c = &c, .r = &r};
  if (c.mode == PB_PRODUCE) {
    pb_result_start(&r, &c);
    produce(&prod, &r);
  } else if (c.mode == PB_CONSUME) {
    if (!c.quiet) fprintf(stderr, "kafka-bench: pre-loading %ld records\n", c.records);
    pb_result_start(&r, &c);
    produce(&prod, &r);
    if (!c.quiet) fprintf(stderr, "kafka-bench: consuming\n");
    k.rk = new_consumer(&c);
    pb_result_start(&r, &c); /* CPU figures cover the consumer only */
    k.t0 = pb_now_ns();
    consume(&k);
  } else {
    k.rk = new_consumer(&c);
    k.e2e = &r.e2e;
    pb_result_start(&r, &c);
    k.t0 = pb_now_ns();
    pthread_t th;
    if (pthread_create(&th, NULL, consume, &k) != 0) pb_die("kafka-bench: pthread_create failed");
    produce(&prod, &r);
    pthread_join(th, NULL);
  }
  r.con_records = k.received;
  r.con_seconds = k.seconds;
  char system[64];
  snprintf(system, sizeof system, "ferry-kafka%s%s", strcmp(compression, "none") ? "-" : "",
           strcmp(compression, "none") ? compression : "");
  pb_report(stdout, system, &c, &r);

  if (k.rk) {
    rd_kafka_consumer_close(k.rk);
    rd_kafka_destroy(k.rk);
  }
  rd_kafka_destroy(prod.rk);
  free(rest);
  return 0;
}
