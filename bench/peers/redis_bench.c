/* redis-bench: ferry-bench's workload against Redis Streams, with ferry-bench's flags and JSON.
 *
 * One stream key, written by one producer pipelining XADD (at most --window replies
 * outstanding), read by one consumer of a consumer group: XREADGROUP COUNT --batch, then one
 * XACK carrying every id of the batch, pipelined with the next XREADGROUP. Modes: produce
 * (closed loop), consume (pre-load, then catch up), both (publish at --rate while consuming:
 * end-to-end latency from each record's intended send time). */
#define _GNU_SOURCE /* ppoll */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>

#include "peer_bench.h"

#define KEY "bench"
#define GROUP "bench-group"
#define CONSUMER "c1"

static redisContext *connect_to(const struct pb_config *c) {
  struct timeval tv = {5, 0};
  redisContext *rc = redisConnectWithTimeout(c->host, c->port, tv);
  if (rc == NULL || rc->err) {
    pb_die("redis-bench: connect %s:%d: %s", c->host, c->port, rc ? rc->errstr : "out of memory");
  }
  return rc;
}

static redisReply *command(redisContext *rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(rc, fmt, ap);
  va_end(ap);
  if (r == NULL) pb_die("redis-bench: %s: %s", fmt, rc->errstr);
  return r;
}

static void flush_output(redisContext *rc) {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(rc, &done) != REDIS_OK) pb_die("redis-bench: write: %s", rc->errstr);
  }
}

static void check_reply(redisContext *rc, redisReply *r, const char *what) {
  if (r == NULL) pb_die("redis-bench: %s: %s", what, rc->errstr);
  if (r->type == REDIS_REPLY_ERROR) pb_die("redis-bench: %s: %s", what, r->str);
}

/* Publishes c->records records with XADD; paced at c->rate when set. Returns when every reply
 * arrived. Ack latency is the reply's arrival minus the record's intended send time. */
static void produce(redisContext *rc, const struct pb_config *c, struct pb_result *r) {
  char *buf = malloc((size_t)c->record_size);
  pb_payload_init(buf, c->record_size);
  uint64_t *ring = calloc((size_t)c->window, sizeof *ring); /* send times, in reply order */
  double interval_ns = c->rate > 0 ? 1e9 / (double)c->rate : 0;
  long sent = 0, acked = 0;
  uint64_t t0 = pb_now_ns();
  uint64_t deadline = t0 + (uint64_t)(c->timeout_s * 1e9);
  uint64_t offer_deadline = pb_offer_deadline(c, t0);
  long records = c->records;
  while (acked < records) {
    uint64_t now = pb_now_ns();
    if (offer_deadline != 0 && now > offer_deadline && records == c->records) {
      records = sent; /* behind schedule: stop offering, wait for what was sent */
      __atomic_store_n(&r->offered, records, __ATOMIC_RELAXED);
    }
    if (now > deadline)
      pb_die("redis-bench: %ld of %ld XADDs acked before --timeout", acked, records);
    while (sent < records && sent - acked < c->window) {
      uint64_t send = now;
      if (c->rate > 0) {
        send = t0 + (uint64_t)((double)sent * interval_ns);
        if (send > now) break;
      }
      pb_payload_stamp(buf, send);
      if (redisAppendCommand(rc, "XADD " KEY " * v %b", buf, (size_t)c->record_size) != REDIS_OK) {
        pb_die("redis-bench: XADD: %s", rc->errstr);
      }
      ring[sent % c->window] = send;
      sent++;
    }
    flush_output(rc);
    /* Wait for replies, or until the next record is due. */
    /* At least 50 us, so a fast rate sends small bursts rather than a syscall per record;
     * latency counts from the intended send time, so the slack is not hidden. */
    uint64_t wait_ns = 1000000000ull;
    if (c->rate > 0 && sent < records && sent - acked < c->window) {
      uint64_t next = t0 + (uint64_t)((double)sent * interval_ns);
      now = pb_now_ns();
      wait_ns = next > now + 50000 ? next - now : 50000;
    }
    if (sent == acked) {
      pb_sleep_until(pb_now_ns() + wait_ns);
      continue;
    }
    struct pollfd pfd = {.fd = rc->fd, .events = POLLIN};
    struct timespec ts = {.tv_sec = (time_t)(wait_ns / 1000000000ull),
                          .tv_nsec = (long)(wait_ns % 1000000000ull)};
    if (ppoll(&pfd, 1, &ts, NULL) <= 0) continue;
    if (redisBufferRead(rc) != REDIS_OK) pb_die("redis-bench: read: %s", rc->errstr);
    void *reply = NULL;
    uint64_t got = 0;
    for (;;) {
      if (redisGetReplyFromReader(rc, &reply) != REDIS_OK) pb_die("redis-bench: %s", rc->errstr);
      if (reply == NULL) break;
      if (got == 0) got = pb_now_ns();
      check_reply(rc, reply, "XADD");
      freeReplyObject(reply);
      uint64_t send = ring[acked % c->window];
      pb_hist_add(&r->pub_ack, got > send ? (got - send) / 1000 : 0);
      acked++;
    }
  }
  r->pub_seconds = (double)(pb_now_ns() - t0) / 1e9;
  r->pub_records = acked;
  free(ring);
  free(buf);
}

struct consumer {
  const struct pb_config *c;
  struct pb_result *r;
  redisContext *rc;
  struct pb_hist *e2e; /* NULL: no latency (catch-up) */
  uint64_t t0;         /* when the measured phase started */
  long received;
  double seconds;
};

static void append_read(struct consumer *k) {
  if (redisAppendCommand(
          k->rc, "XREADGROUP GROUP " GROUP " " CONSUMER " COUNT %d BLOCK 1000 STREAMS " KEY " >",
          k->c->batch) != REDIS_OK) {
    pb_die("redis-bench: XREADGROUP: %s", k->rc->errstr);
  }
}

/* Reads until c->records records arrived. Each batch is acknowledged by one XACK with all its
 * ids, sent together with the next XREADGROUP so the acknowledgment costs no round trip. */
static void *consume(void *arg) {
  struct consumer *k = arg;
  const struct pb_config *c = k->c;
  redisContext *rc = k->rc;
  uint64_t deadline = k->t0 + (uint64_t)(c->timeout_s * 1e9);
  uint64_t last = k->t0;
  long target;
  const char **argv = malloc(sizeof(char *) * (size_t)(c->batch + 3));
  size_t *lens = malloc(sizeof(size_t) * (size_t)(c->batch + 3));
  argv[0] = "XACK";
  argv[1] = KEY;
  argv[2] = GROUP;
  lens[0] = 4;
  lens[1] = strlen(KEY);
  lens[2] = strlen(GROUP);
  int pending_acks = 0;
  append_read(k);
  while (k->received < (target = __atomic_load_n(&k->r->offered, __ATOMIC_RELAXED))) {
    if (pb_now_ns() > deadline) {
      pb_die("redis-bench: consumer got %ld of %ld records before --timeout", k->received, target);
    }
    void *v = NULL;
    for (; pending_acks > 0; pending_acks--) {
      if (redisGetReply(rc, &v) != REDIS_OK) pb_die("redis-bench: XACK: %s", rc->errstr);
      check_reply(rc, v, "XACK");
      freeReplyObject(v);
    }
    if (redisGetReply(rc, &v) != REDIS_OK) pb_die("redis-bench: XREADGROUP: %s", rc->errstr);
    redisReply *r = v;
    check_reply(rc, r, "XREADGROUP");
    size_t n = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
      /* [[key, [[id, [field, value]], ...]]] */
      redisReply *entries = r->element[0]->element[1];
      n = entries->elements;
      last = pb_now_ns();
      for (size_t i = 0; i < n; i++) {
        redisReply *e = entries->element[i];
        argv[3 + i] = e->element[0]->str;
        lens[3 + i] = e->element[0]->len;
        if (k->e2e) {
          redisReply *val = e->element[1]->element[1];
          uint64_t sent = pb_payload_time(val->str, val->len);
          pb_hist_add(k->e2e, last > sent ? (last - sent) / 1000 : 0);
        }
      }
      if (n > 0) {
        if (redisAppendCommandArgv(rc, (int)(n + 3), argv, lens) != REDIS_OK) {
          pb_die("redis-bench: XACK: %s", rc->errstr);
        }
        pending_acks++;
      }
      k->received += (long)n;
    }
    if (k->received < __atomic_load_n(&k->r->offered, __ATOMIC_RELAXED)) append_read(k);
    freeReplyObject(r); /* after XACK's ids were copied into the output buffer */
  }
  for (; pending_acks > 0; pending_acks--) {
    void *v = NULL;
    if (redisGetReply(rc, &v) != REDIS_OK) pb_die("redis-bench: XACK: %s", rc->errstr);
    check_reply(rc, v, "XACK");
    freeReplyObject(v);
  }
  k->seconds = (double)(last - k->t0) / 1e9;
  free(lens);
  free(argv);
  return NULL;
}

/* "aof-everysec", "everysec", ... -> the appendfsync value; NULL if not one. */
static const char *appendfsync_value(const char *fsync) {
  if (strncmp(fsync, "aof-", 4) == 0) fsync += 4;
  if (strcmp(fsync, "always") == 0 || strcmp(fsync, "everysec") == 0 || strcmp(fsync, "no") == 0) {
    return fsync;
  }
  return NULL;
}

int main(int argc, char **argv) {
  struct pb_config c;
  pb_parse_args(&c, argc, argv, "redis-streams", 6379, "aof-everysec");
  const char *appendfsync = appendfsync_value(c.fsync);
  if (appendfsync == NULL)
    pb_die("--fsync: '%s' is not aof-always, aof-everysec or aof-no", c.fsync);
  static struct pb_result r;

  redisContext *pub = connect_to(&c);
  redisContext *sub = connect_to(&c);
  redisReply *rep = command(pub, "CONFIG SET appendfsync %s", appendfsync);
  check_reply(pub, rep, "CONFIG SET appendfsync");
  freeReplyObject(rep);
  /* A fresh stream each run: the same server may serve several runs. */
  freeReplyObject(command(pub, "DEL " KEY));
  rep = command(pub, "XGROUP CREATE " KEY " " GROUP " 0 MKSTREAM");
  check_reply(pub, rep, "XGROUP CREATE");
  freeReplyObject(rep);

  struct consumer k = {.c = &c, .r = &r, .rc = sub};
  if (c.mode == PB_PRODUCE) {
    pb_result_start(&r, &c);
    produce(pub, &c, &r);
  } else if (c.mode == PB_CONSUME) {
    if (!c.quiet) fprintf(stderr, "redis-bench: pre-loading %ld records\n", c.records);
    pb_result_start(&r, &c);
    produce(pub, &c, &r);
    if (!c.quiet) fprintf(stderr, "redis-bench: consuming\n");
    pb_result_start(&r, &c); /* CPU figures cover the consumer only */
    k.t0 = pb_now_ns();
    consume(&k);
  } else {
    k.e2e = &r.e2e;
    pb_result_start(&r, &c);
    k.t0 = pb_now_ns();
    pthread_t th;
    if (pthread_create(&th, NULL, consume, &k) != 0) pb_die("redis-bench: pthread_create failed");
    produce(pub, &c, &r);
    pthread_join(th, NULL);
  }
  r.con_records = k.received;
  r.con_seconds = k.seconds;
  pb_report(stdout, "redis-streams", &c, &r);
  redisFree(sub);
  redisFree(pub);
  return 0;
}
