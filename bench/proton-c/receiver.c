/*
 * Throughput receiver on Qpid Proton C's proactor (bench/proton-c.js runs it against
 * bench/proton-c/sender.c; test/bench/proton-c.test.ts against an amqp-one sender).
 *
 *   receiver PORT WARMUP COUNT MODE [CREDIT [decode]]
 *
 *   PORT    on 127.0.0.1; 0 picks a free one. Once listening it prints {"type":"ready","port":N}.
 *   MODE    presettled or unsettled: what the sender is expected to do. Either way every delivery
 *           is settled locally (which frees it); one that arrives unsettled is accepted first
 *           (rcv-settle-mode first: one settled disposition). Arrivals that did not match MODE
 *           are reported as "modeMismatches".
 *   CREDIT  the prefetch window (default 1000): granted on attach and topped back up to CREDIT
 *           whenever it falls below half, as messages arrive.
 *   decode  also decode every message with pn_message_decode (amqp-one's receiver decodes only
 *           when asked: BENCH_DECODE=1); by default the bytes are only read off the delivery.
 *
 * It accepts one connection (bare AMQP, or SASL ANONYMOUS) and one incoming link, and when
 * WARMUP + COUNT messages have arrived prints one JSON line on stdout and closes the connection:
 *
 *   {"type":"done","role":"receiver","impl":"proton-c","mode":...,"received":N,"modeMismatches":N,
 *    "bodyBytes":N,"warmup":N,"count":N,"t0":ms,"t1":ms,"ms":ms,"rate":msgs/s,"cpuUserMs":ms,
 *    "cpuSystemMs":ms,"cpuPercent":%,"rssStart":bytes,"rssEnd":bytes,"maxRssKb":kB}
 *
 * The measured interval runs from the WARMUP-th arrival to the last (CLOCK_MONOTONIC; CPU from
 * getrusage over the same interval). Errors (transport, connection, session or link closed with a
 * condition, or closed before the last message) go to stderr and the exit code is 1; bad
 * arguments exit 2.
 */
#include "common.h"

#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/listener.h>
#include <proton/netaddr.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/transport.h>

typedef struct receiver_t {
  bool presettled, decode;
  int credit;
  pn_listener_t *listener;
  pn_connection_t *connection;
  pn_link_t *link;
  char *buf; /* the message being read, reused */
  size_t len, cap;
  pn_message_t *decoded;
  long received, mismatches, body_bytes;
  marks_t marks;
} receiver_t;

static void finish(receiver_t *r) {
  printf("{\"type\":\"done\",\"role\":\"receiver\",\"impl\":\"proton-c\",\"mode\":\"%s\",\"received\":%ld,"
         "\"modeMismatches\":%ld,\"bodyBytes\":%ld,",
         r->presettled ? "presettled" : "unsettled", r->received, r->mismatches, r->body_bytes);
  marks_print(&r->marks);
  printf("}\n");
  fflush(stdout);
  pn_connection_close(r->connection);
}

static void decode(receiver_t *r) {
  pn_data_t *body;
  int err = pn_message_decode(r->decoded, r->buf, r->len);
  if (err) {
    fail("pn_message_decode: %s", pn_error_text(pn_message_error(r->decoded)));
    return;
  }
  body = pn_message_body(r->decoded);
  pn_data_rewind(body);
  if (pn_data_next(body) && pn_data_type(body) == PN_BINARY) r->body_bytes += pn_data_get_binary(body).size;
}

static void on_delivery(receiver_t *r, pn_delivery_t *d) {
  pn_link_t *l = pn_delivery_link(d);
  ssize_t n;
  if (!pn_delivery_readable(d)) return;
  if (d != pn_link_current(l)) {
    fail("a delivery arrived that is not the link's current one");
    pn_connection_close(r->connection);
    return;
  }
  for (;;) {
    if (r->len == r->cap) {
      r->cap = r->cap ? r->cap * 2 : 4096;
      r->buf = realloc(r->buf, r->cap);
      if (!r->buf) {
        fprintf(stderr, "receiver: out of memory\n");
        exit(1);
      }
    }
    n = pn_link_recv(l, r->buf + r->len, r->cap - r->len);
    if (n <= 0) break;
    r->len += (size_t)n;
  }
  if (n == PN_ABORTED) { /* the sender gave up on it: forget it, give the credit back */
    r->len = 0;
    pn_delivery_settle(d);
    pn_link_flow(l, 1);
    return;
  }
  if (n < 0 && n != PN_EOS) {
    fail("pn_link_recv: %s", pn_code((int)n));
    pn_connection_close(r->connection);
    return;
  }
  if (pn_delivery_partial(d)) return; /* more transfers to come */

  r->received++;
  if (r->decode) decode(r);
  if (pn_delivery_settled(d) != r->presettled) r->mismatches++;
  if (!pn_delivery_settled(d)) pn_delivery_update(d, PN_ACCEPTED);
  pn_delivery_settle(d); /* frees it, and advances the link */
  r->len = 0;
  if (pn_link_credit(l) < r->credit / 2) pn_link_flow(l, r->credit - pn_link_credit(l));
  if (marks_tick(&r->marks, r->received)) finish(r);
}

static void on_link_open(receiver_t *r, pn_link_t *l) {
  if (r->link || !pn_link_is_receiver(l)) {
    pn_condition_set_name(pn_link_condition(l), "amqp:not-allowed");
    pn_condition_set_description(pn_link_condition(l), "this receiver takes one incoming sender link");
    pn_link_close(l);
    return;
  }
  r->link = l;
  pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
  pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
  pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
  pn_link_set_rcv_settle_mode(l, PN_RCV_FIRST);
  pn_link_open(l);
  pn_link_flow(l, r->credit);
  if (r->marks.warmup == 0) marks_start(&r->marks);
}

static void closed(receiver_t *r, pn_event_t *e, pn_condition_t *cond, const char *what) {
  if (!report_condition(e, cond) && !r->marks.finished)
    fail("%s before the last message (%ld of %ld received)", what, r->received, r->marks.total);
}

/* Returns false when the proactor has nothing left to do. */
static bool handle(receiver_t *r, pn_event_t *e) {
  switch (pn_event_type(e)) {
  case PN_LISTENER_OPEN: {
    char port[64];
    pn_netaddr_host_port(pn_listener_addr(pn_event_listener(e)), NULL, 0, port, sizeof port);
    printf("{\"type\":\"ready\",\"port\":%s}\n", port);
    fflush(stdout);
    break;
  }
  case PN_LISTENER_ACCEPT:
    pn_listener_accept2(pn_event_listener(e), NULL, NULL);
    pn_listener_close(pn_event_listener(e)); /* one connection only */
    break;
  case PN_LISTENER_CLOSE:
    if (report_condition(e, pn_listener_condition(pn_event_listener(e)))) return false;
    break;
  case PN_CONNECTION_INIT:
    r->connection = pn_event_connection(e);
    pn_connection_set_container(r->connection, "proton-c-bench-receiver");
    break;
  case PN_CONNECTION_BOUND: {
    pn_transport_t *t = pn_event_transport(e);
    pn_transport_require_auth(t, false); /* bare AMQP is fine */
    pn_sasl_allowed_mechs(pn_sasl(t), "ANONYMOUS");
    break;
  }
  case PN_CONNECTION_REMOTE_OPEN:
    pn_connection_open(pn_event_connection(e));
    break;
  case PN_SESSION_REMOTE_OPEN:
    if (pn_session_state(pn_event_session(e)) & PN_LOCAL_UNINIT) pn_session_open(pn_event_session(e));
    break;
  case PN_LINK_REMOTE_OPEN:
    on_link_open(r, pn_event_link(e));
    break;
  case PN_DELIVERY:
    if (!r->marks.finished) on_delivery(r, pn_event_delivery(e));
    break;
  case PN_TRANSPORT_CLOSED:
    closed(r, e, pn_transport_condition(pn_event_transport(e)), "the connection closed");
    break;
  case PN_CONNECTION_REMOTE_CLOSE:
    closed(r, e, pn_connection_remote_condition(pn_event_connection(e)), "the peer closed the connection");
    pn_connection_close(pn_event_connection(e));
    break;
  case PN_SESSION_REMOTE_CLOSE:
    closed(r, e, pn_session_remote_condition(pn_event_session(e)), "the peer ended the session");
    pn_connection_close(pn_event_connection(e));
    break;
  case PN_LINK_REMOTE_CLOSE:
  case PN_LINK_REMOTE_DETACH:
    if (pn_event_link(e) != r->link) break; /* one we refused */
    closed(r, e, pn_link_remote_condition(pn_event_link(e)), "the peer detached the link");
    pn_connection_close(pn_event_connection(e));
    break;
  case PN_PROACTOR_INACTIVE:
    return false;
  default:
    break;
  }
  return true;
}

int main(int argc, char **argv) {
  receiver_t r;
  pn_proactor_t *proactor;
  char addr[PN_MAX_ADDR];
  bool running = true;
  prog_name = "receiver";
  if (argc < 5 || argc > 7 || (argc == 7 && strcmp(argv[6], "decode") != 0)) {
    fprintf(stderr, "usage: receiver PORT WARMUP COUNT presettled|unsettled [CREDIT [decode]]\n");
    return 2;
  }
  memset(&r, 0, sizeof r);
  marks_init(&r.marks, parse_count(argv[2], "WARMUP"), parse_count(argv[3], "COUNT"));
  r.presettled = parse_mode(argv[4]);
  r.credit = argc > 5 ? (int)parse_count(argv[5], "CREDIT") : 1000;
  if (r.credit < 1) r.credit = 1;
  r.decode = argc == 7;
  if (r.decode) r.decoded = pn_message();

  proactor = pn_proactor();
  r.listener = pn_listener();
  pn_proactor_addr(addr, sizeof addr, "127.0.0.1", argv[1]);
  pn_proactor_listen(proactor, r.listener, addr, 16);
  while (running) {
    pn_event_batch_t *batch = pn_proactor_wait(proactor);
    pn_event_t *e;
    while (running && (e = pn_event_batch_next(batch))) running = handle(&r, e);
    pn_proactor_done(proactor, batch);
  }
  pn_proactor_free(proactor);
  if (r.decoded) pn_message_free(r.decoded);
  free(r.buf);
  if (exit_code == 0 && !r.marks.finished) fail("stopped before the last message");
  return exit_code;
}
