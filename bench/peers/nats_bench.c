/* nats-bench: ferry-bench's workload against NATS JetStream, with ferry-bench's flags and JSON.
 *
 * One stream "BENCH" (file storage, one subject), written by one producer with asynchronous
 * publishes (at most --window awaiting their PubAck), read by one durable pull consumer that
 * fetches
 * --batch records per request and acknowledges each batch once (ack policy "all", acking the
 * last record). Modes: produce (closed loop), consume (pre-load, then catch up), both (publish
 * at --rate while consuming: end-to-end latency from each record's intended send time). */
#define _GNU_SOURCE /* memmem */
#include <nats/nats.h>
#include <pthread.h>

#include "peer_bench.h"

#define STREAM "BENCH"
#define SUBJECT "bench"
#define DURABLE "bench-group"

static void check(natsStatus s, const char *what) {
  if (s != NATS_OK) pb_die("nats-bench: %s: %s", what, natsStatus_GetText(s));
}

static natsConnection *connect_to(const struct pb_config *c) {
  char url[256];
  snprintf(url, sizeof url, "nats://%s:%d", c->host, c->port);
  natsConnection *nc = NULL;
  check(natsConnection_ConnectTo(&nc, url), url);
  return nc;
}

/* Asynchronous JetStream publishing, done directly: each record is a core NATS publish with a
 * reply subject "<inbox>.<sequence>", and the server's PubAck to it arrives on one wildcard
 * subscription. This is what js_PublishAsync does, without its per-message bookkeeping (a
 * message object, a timer and a map entry per publish), which on 2 cores cost the client more
 * CPU than the server spent. Acks arrive on the library's dispatcher thread, the only writer of
 * the histogram; `acked` and `failed` are atomic, `mu` and `cv` let a full window wait. */
struct publisher {
  natsConnection *nc;
  const struct pb_config *c;
  struct pb_hist *ack_hist;
  uint64_t *ring; /* intended send time of sequence i at [i % ring_size] */
  long ring_size;
  size_t prefix_len; /* length of "<inbox>." */
  char prefix[128];
  long acked;
  long failed;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static void on_pub_ack(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
  (void)nc;
  (void)sub;
  struct publisher *p = closure;
  uint64_t now = pb_now_ns();
  long seq = strtol(natsMsg_GetSubject(msg) + p->prefix_len, NULL, 10);
  const char *data = natsMsg_GetData(msg);
  int len = natsMsg_GetDataLength(msg);
  /* A PubAck is {"stream":..,"seq":..}; a refusal carries "error". */
  int ok = len > 0 && memmem(data, (size_t)len, "\"error\"", 7) == NULL;
  if (ok) {
    uint64_t sent = p->ring[seq % p->ring_size];
    pb_hist_add(p->ack_hist, now > sent ? (now - sent) / 1000 : 0);
    __atomic_fetch_add(&p->acked, 1, __ATOMIC_RELEASE);
  } else {
    if (__atomic_fetch_add(&p->failed, 1, __ATOMIC_RELEASE) == 0) {
      fprintf(stderr, "nats-bench: publish %ld refused: %.*s\n", seq, len, data);
    }
  }
  pthread_mutex_lock(&p->mu);
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  natsMsg_Destroy(msg);
}

static long answered(struct publisher *p) {
  return __atomic_load_n(&p->acked, __ATOMIC_ACQUIRE) +
         __atomic_load_n(&p->failed, __ATOMIC_ACQUIRE);
}

/* Waits until at most `outstanding` publishes await their answer, or the deadline passes. */
static void wait_answers(struct publisher *p, long sent, long outstanding, uint64_t deadline) {
  if (sent - answered(p) <= outstanding) return;
  pthread_mutex_lock(&p->mu);
  while (sent - answered(p) > outstanding) {
    if (pb_now_ns() > deadline) {
      pb_die("nats-bench: %ld of %ld publishes answered before --timeout", answered(p), sent);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
  }
  pthread_mutex_unlock(&p->mu);
}

/* Publishes c->records records, at most c->window awaiting their ack; paced at c->rate when
 * set. Returns when every ack arrived. */
static void produce(struct publisher *p, struct pb_result *r) {
  const struct pb_config *c = p->c;
  char *buf = malloc((size_t)c->record_size);
  pb_payload_init(buf, c->record_size);
  char reply[192];
  memcpy(reply, p->prefix, p->prefix_len);
  double interval_ns = c->rate > 0 ? 1e9 / (double)c->rate : 0;
  uint64_t t0 = pb_now_ns();
  uint64_t deadline = t0 + (uint64_t)(c->timeout_s * 1e9);
  uint64_t offer_deadline = pb_offer_deadline(c, t0);
  long base = __atomic_load_n(&p->acked, __ATOMIC_ACQUIRE); /* sequences continue across runs */
  long i = 0;
  for (; i < c->records; i++) {
    uint64_t send = pb_now_ns();
    if (offer_deadline != 0 && send > offer_deadline) break;
    if (c->rate > 0) {
      uint64_t intended = t0 + (uint64_t)((double)i * interval_ns);
      /* Ahead of schedule: sleep, at least 50 us so a fast rate sends small bursts rather than
       * a syscall per record. Latency counts from `intended`, so the slack is not hidden. */
      if (intended > send) pb_sleep_until(intended > send + 50000 ? intended : send + 50000);
      send = intended;
    }
    wait_answers(p, base + i, c->window - 1, deadline);
    long seq = base + i;
    p->ring[seq % p->ring_size] = send;
    pb_payload_stamp(buf, send);
    snprintf(reply + p->prefix_len, sizeof reply - p->prefix_len, "%ld", seq);
    check(natsConnection_PublishRequest(p->nc, SUBJECT, reply, buf, c->record_size), "publish");
  }
  __atomic_store_n(&r->offered, i, __ATOMIC_RELAXED);
  check(natsConnection_Flush(p->nc), "flush");
  wait_answers(p, base + i, 0, deadline);
  r->pub_seconds = (double)(pb_now_ns() - t0) / 1e9;
  r->pub_records = __atomic_load_n(&p->acked, __ATOMIC_ACQUIRE) - base;
  long failed = __atomic_load_n(&p->failed, __ATOMIC_ACQUIRE);
  if (failed > 0) pb_die("nats-bench: %ld publishes refused", failed);
  free(buf);
}

struct consumer {
  const struct pb_config *c;
  struct pb_result *r;
  natsSubscription *sub;
  struct pb_hist *e2e; /* NULL: no latency (catch-up) */
  uint64_t t0;         /* when the measured phase started */
  long received;
  double seconds;
};

/* Fetches until the offered records arrived, acknowledging each batch with its last record. */
static void *consume(void *arg) {
  struct consumer *k = arg;
  const struct pb_config *c = k->c;
  uint64_t deadline = k->t0 + (uint64_t)(c->timeout_s * 1e9);
  uint64_t last = k->t0;
  long target;
  while (k->received < (target = __atomic_load_n(&k->r->offered, __ATOMIC_RELAXED))) {
    if (pb_now_ns() > deadline) {
      pb_die("nats-bench: consumer got %ld of %ld records before --timeout", k->received, target);
    }
    /* Take what is there, up to a batch. When nothing is, wait for one record only: a waiting
     * request for a whole batch would hold records back until the batch fills (or the request
     * expires), adding up to batch/rate to the latency. */
    natsMsgList list = {0};
    jsFetchRequest fr;
    jsFetchRequest_Init(&fr);
    fr.Batch = c->batch;
    fr.NoWait = true;
    fr.Expires = 1000000000; /* ns */
    natsStatus s = natsSubscription_FetchRequest(&list, k->sub, &fr);
    if (s == NATS_NOT_FOUND || s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
      natsMsgList_Destroy(&list);
      jsFetchRequest_Init(&fr);
      fr.Batch = 1;
      fr.Expires = 1000000000;
      s = natsSubscription_FetchRequest(&list, k->sub, &fr);
      if (s == NATS_TIMEOUT) continue;
    }
    check(s, "natsSubscription_FetchRequest");
    last = pb_now_ns();
    if (k->e2e) {
      for (int i = 0; i < list.Count; i++) {
        uint64_t sent = pb_payload_time(natsMsg_GetData(list.Msgs[i]),
                                        (size_t)natsMsg_GetDataLength(list.Msgs[i]));
        pb_hist_add(k->e2e, last > sent ? (last - sent) / 1000 : 0);
      }
    }
    if (list.Count > 0) check(natsMsg_Ack(list.Msgs[list.Count - 1], NULL), "natsMsg_Ack");
    k->received += list.Count;
    natsMsgList_Destroy(&list);
  }
  k->seconds = (double)(last - k->t0) / 1e9;
  return NULL;
}

static natsSubscription *subscribe(jsCtx *js, const struct pb_config *c) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = STREAM;
  so.Config.Durable = DURABLE;
  so.Config.AckPolicy = js_AckAll;
  so.Config.DeliverPolicy = js_DeliverAll;
  so.Config.MaxAckPending = (int64_t)c->batch * 10;
  natsSubscription *sub = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_PullSubscribe(&sub, js, SUBJECT, DURABLE, NULL, &so, &jerr);
  if (s != NATS_OK) pb_die("nats-bench: js_PullSubscribe: %s (%d)", natsStatus_GetText(s), jerr);
  return sub;
}

int main(int argc, char **argv) {
  struct pb_config c;
  /* 2.9's file store has no per-write sync: acks precede fsync (see docs/performance.md). */
  pb_parse_args(&c, argc, argv, "nats-jetstream", 4222, "file-no-fsync-before-ack");
  static struct pb_result r;

  check(nats_Open(-1), "nats_Open");
  natsConnection *pub_nc = connect_to(&c);
  natsConnection *sub_nc = connect_to(&c);
  jsCtx *js = NULL;
  check(natsConnection_JetStream(&js, pub_nc, NULL), "JetStream context");
  jsCtx *sub_js = NULL;
  check(natsConnection_JetStream(&sub_js, sub_nc, NULL), "JetStream context");

  static struct publisher pub;
  pub.nc = pub_nc;
  pub.c = &c;
  pub.ack_hist = &r.pub_ack;
  pub.ring_size = 4L * c.window;
  pub.ring = calloc((size_t)pub.ring_size, sizeof *pub.ring);
  pthread_mutex_init(&pub.mu, NULL);
  pthread_cond_init(&pub.cv, NULL);
  natsInbox *inbox = NULL;
  check(natsInbox_Create(&inbox), "natsInbox_Create");
  snprintf(pub.prefix, sizeof pub.prefix, "%s.", (const char *)inbox);
  pub.prefix_len = strlen(pub.prefix);
  char wildcard[160];
  snprintf(wildcard, sizeof wildcard, "%s*", pub.prefix);
  natsSubscription *ack_sub = NULL;
  check(natsConnection_Subscribe(&ack_sub, pub_nc, wildcard, on_pub_ack, &pub), "subscribe acks");

  /* A fresh stream each run: the same server may serve several runs. */
  js_DeleteStream(js, STREAM, NULL, NULL);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char *subjects[] = {SUBJECT};
  sc.Name = STREAM;
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  jsErrCode jerr = 0;
  natsStatus s = js_AddStream(NULL, js, &sc, NULL, &jerr);
  if (s != NATS_OK) pb_die("nats-bench: js_AddStream: %s (%d)", natsStatus_GetText(s), jerr);
  natsSubscription *sub = subscribe(sub_js, &c);

  struct consumer k = {.c = &c, .r = &r, .sub = sub};
  if (c.mode == PB_PRODUCE) {
    pb_result_start(&r, &c);
    produce(&pub, &r);
  } else if (c.mode == PB_CONSUME) {
    if (!c.quiet) fprintf(stderr, "nats-bench: pre-loading %ld records\n", c.records);
    pb_result_start(&r, &c);
    produce(&pub, &r);
    if (!c.quiet) fprintf(stderr, "nats-bench: consuming\n");
    pb_result_start(&r, &c); /* CPU figures cover the consumer only */
    k.t0 = pb_now_ns();
    consume(&k);
  } else {
    k.e2e = &r.e2e;
    pb_result_start(&r, &c);
    k.t0 = pb_now_ns();
    pthread_t th;
    if (pthread_create(&th, NULL, consume, &k) != 0) pb_die("nats-bench: pthread_create failed");
    produce(&pub, &r);
    pthread_join(th, NULL);
  }
  r.con_records = k.received;
  r.con_seconds = k.seconds;
  pb_report(stdout, "nats-jetstream", &c, &r);

  natsSubscription_Destroy(sub);
  natsSubscription_Destroy(ack_sub);
  natsInbox_Destroy(inbox);
  free(pub.ring);
  jsCtx_Destroy(sub_js);
  jsCtx_Destroy(js);
  natsConnection_Destroy(sub_nc);
  natsConnection_Destroy(pub_nc);
  nats_Close();
  return 0;
}
