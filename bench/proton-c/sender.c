/*
 * Throughput sender on Qpid Proton C's proactor (bench/proton-c.js runs it against
 * bench/proton-c/receiver.c; test/bench/proton-c.test.ts against amqp-one).
 *
 *   sender HOST PORT WARMUP COUNT MODE
 *
 *   MODE  presettled: the link's snd-settle-mode is settled and every delivery is settled as it
 *         is sent (the peer sends no dispositions); "done" is a message handed to Proton.
 *         unsettled: snd-settle-mode unsettled; "done" is an outcome from the receiver, and
 *         "accepted" counts the accepted ones.
 *
 * It connects (bare AMQP, no SASL), attaches a sender link to "bench/telemetry", sends
 * WARMUP + COUNT copies of the telemetry message (common.h) as fast as the receiver's credit
 * allows, starting at once, and settles and frees every delivery (a presettled one as it is sent,
 * an unsettled one when its outcome arrives) so memory stays flat. The measured interval runs
 * from the WARMUP-th item done to the last (CLOCK_MONOTONIC, getrusage for CPU). When it is over
 * it prints one JSON line on stdout and closes the connection:
 *
 *   {"type":"done","role":"sender","impl":"proton-c","mode":...,"sent":N,"done":N,"accepted":N,
 *    "otherOutcomes":N,"warmup":N,"count":N,"t0":ms,"t1":ms,"ms":ms,"rate":msgs/s,
 *    "cpuUserMs":ms,"cpuSystemMs":ms,"cpuPercent":%,"rssStart":bytes,"rssEnd":bytes,"maxRssKb":kB}
 *
 * Encoding: the message is built once as a pn_message_t and encoded for every send with
 * pn_message_send() into one reused buffer (pn_message_encode2, pn_link_send, pn_link_advance),
 * the way Proton's own send.c does. That is the fair comparison with amqp-one, which encodes the
 * message on every send too.
 *
 * Errors (transport, connection, session or link closed with a condition, or closed before the
 * run is over, or an outcome in presettled mode) go to stderr and the exit code is 1; bad
 * arguments exit 2.
 */
#include "common.h"

#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/proactor.h>
#include <proton/session.h>
#include <proton/transport.h>

typedef struct sender_t {
  bool presettled;
  pn_message_t *message;
  pn_rwbytes_t buffer; /* reused by every pn_message_send */
  pn_link_t *link;
  long sent, done, accepted, other;
  uint64_t tag;
  marks_t marks;
} sender_t;

static void finish(sender_t *s, pn_connection_t *c) {
  printf("{\"type\":\"done\",\"role\":\"sender\",\"impl\":\"proton-c\",\"mode\":\"%s\",\"sent\":%ld,"
         "\"done\":%ld,\"accepted\":%ld,\"otherOutcomes\":%ld,",
         s->presettled ? "presettled" : "unsettled", s->sent, s->done, s->accepted, s->other);
  marks_print(&s->marks);
  printf("}\n");
  fflush(stdout);
  pn_connection_close(c);
}

static void send_some(sender_t *s, pn_link_t *l) {
  while (pn_link_credit(l) > 0 && s->sent < s->marks.total) {
    pn_delivery_t *d;
    s->tag++;
    d = pn_delivery(l, pn_dtag((const char *)&s->tag, sizeof s->tag));
    if (pn_message_send(s->message, l, &s->buffer) < 0) {
      fail("pn_message_send: %s", pn_error_text(pn_message_error(s->message)));
      pn_connection_close(pn_session_connection(pn_link_session(l)));
      return;
    }
    s->sent++;
    if (s->presettled) {
      pn_delivery_settle(d); /* goes out settled; Proton frees it once written */
      s->done++;
      if (marks_tick(&s->marks, s->done)) finish(s, pn_session_connection(pn_link_session(l)));
    }
  }
}

static void on_outcome(sender_t *s, pn_delivery_t *d) {
  uint64_t state = pn_delivery_remote_state(d);
  bool terminal = state == PN_ACCEPTED || state == PN_REJECTED || state == PN_RELEASED || state == PN_MODIFIED;
  if (!terminal && !pn_delivery_settled(d)) return; /* e.g. a received state: no outcome yet */
  if (s->presettled) fail("an outcome (state %llu) for a presettled delivery", (unsigned long long)state);
  if (state == PN_ACCEPTED)
    s->accepted++;
  else
    s->other++;
  s->done++;
  pn_delivery_settle(d); /* frees it */
  if (marks_tick(&s->marks, s->done)) finish(s, pn_session_connection(pn_link_session(s->link)));
}

/* A peer or transport closing before the run is over is an error, even without a condition. */
static void closed(sender_t *s, pn_event_t *e, pn_condition_t *cond, const char *what) {
  if (!report_condition(e, cond) && !s->marks.finished)
    fail("%s before the run was over (%ld sent, %ld done)", what, s->sent, s->done);
}

/* Returns false when the proactor has nothing left to do. */
static bool handle(sender_t *s, pn_event_t *e) {
  switch (pn_event_type(e)) {
  case PN_CONNECTION_INIT: {
    pn_connection_t *c = pn_event_connection(e);
    pn_session_t *ssn;
    pn_connection_set_container(c, "proton-c-bench-sender");
    pn_connection_open(c);
    ssn = pn_session(c);
    pn_session_open(ssn);
    s->link = pn_sender(ssn, "proton-c-bench-sender");
    pn_terminus_set_address(pn_link_target(s->link), BENCH_ADDRESS);
    pn_link_set_snd_settle_mode(s->link, s->presettled ? PN_SND_SETTLED : PN_SND_UNSETTLED);
    pn_link_set_rcv_settle_mode(s->link, PN_RCV_FIRST);
    pn_link_open(s->link);
    if (s->marks.warmup == 0) marks_start(&s->marks);
    break;
  }
  case PN_LINK_FLOW:
    if (!s->marks.finished && exit_code == 0) send_some(s, pn_event_link(e));
    break;
  case PN_DELIVERY:
    on_outcome(s, pn_event_delivery(e));
    break;
  case PN_TRANSPORT_CLOSED:
    closed(s, e, pn_transport_condition(pn_event_transport(e)), "the connection closed");
    break;
  case PN_CONNECTION_REMOTE_CLOSE:
    closed(s, e, pn_connection_remote_condition(pn_event_connection(e)), "the peer closed the connection");
    pn_connection_close(pn_event_connection(e));
    break;
  case PN_SESSION_REMOTE_CLOSE:
    closed(s, e, pn_session_remote_condition(pn_event_session(e)), "the peer ended the session");
    pn_connection_close(pn_event_connection(e));
    break;
  case PN_LINK_REMOTE_CLOSE:
  case PN_LINK_REMOTE_DETACH:
    closed(s, e, pn_link_remote_condition(pn_event_link(e)), "the peer detached the link");
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
  sender_t s;
  pn_proactor_t *proactor;
  char addr[PN_MAX_ADDR];
  bool running = true;
  prog_name = "sender";
  if (argc != 6) {
    fprintf(stderr, "usage: sender HOST PORT WARMUP COUNT presettled|unsettled\n");
    return 2;
  }
  memset(&s, 0, sizeof s);
  marks_init(&s.marks, parse_count(argv[3], "WARMUP"), parse_count(argv[4], "COUNT"));
  s.presettled = parse_mode(argv[5]);
  s.message = telemetry_message();

  proactor = pn_proactor();
  pn_proactor_addr(addr, sizeof addr, argv[1], argv[2]);
  pn_proactor_connect2(proactor, NULL, NULL, addr);
  while (running) {
    pn_event_batch_t *batch = pn_proactor_wait(proactor);
    pn_event_t *e;
    while (running && (e = pn_event_batch_next(batch))) running = handle(&s, e);
    pn_proactor_done(proactor, batch);
  }
  pn_proactor_free(proactor);
  pn_message_free(s.message);
  free(s.buffer.start);
  if (exit_code == 0 && !s.marks.finished) fail("stopped before the run was over");
  return exit_code;
}
