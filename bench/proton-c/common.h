/*
 * Shared by bench/proton-c/sender.c and bench/proton-c/receiver.c: the telemetry message of the
 * codec and throughput benchmarks (bench/fixtures.js), the measured-interval bookkeeping (the
 * same marks as bench/throughput-common.js `Marks`), JSON output and error reporting.
 *
 * Everything here is static: each program includes it once.
 */
#ifndef AMQP_ONE_BENCH_PROTON_C_COMMON_H
#define AMQP_ONE_BENCH_PROTON_C_COMMON_H

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/event.h>
#include <proton/message.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BENCH_ADDRESS "bench/telemetry"

/* ---- the telemetry message (bench/fixtures.js) ------------------------------------------------ */

#define MESSAGE_ID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define MESSAGE_TO "/devices/sensor-0042/messages/events"
#define CONTENT_TYPE "application/json;charset=utf-8"
#define CREATION_TIME_MS 1700000000000LL /* new Date(1700000000000) */
#define BODY_SIZE 256

static inline pn_bytes_t cstr(const char *s) { return pn_bytes(strlen(s), s); }

/*
 * jsonBody(): the JSON document of bench/fixtures.js, padded inside its "pad" string to exactly
 * BODY_SIZE bytes. JSON.stringify writes 21.5, 48.2, 1013.25 and 3.71 as they are written here.
 */
static inline void telemetry_body(char out[BODY_SIZE]) {
  const char *head =
      "{\"deviceId\":\"sensor-0042\",\"ts\":1700000000000,\"temperature\":21.5,\"humidity\":48.2,"
      "\"pressure\":1013.25,\"battery\":3.71,\"status\":\"ok\",\"pad\":\"";
  const char *tail = "\"}";
  size_t h = strlen(head), t = strlen(tail);
  if (h + t > BODY_SIZE) {
    fprintf(stderr, "JSON body template is longer than %d bytes\n", BODY_SIZE);
    exit(2);
  }
  memcpy(out, head, h);
  memset(out + h, 'x', BODY_SIZE - h - t);
  memcpy(out + BODY_SIZE - t, tail, t);
}

/*
 * The message with the AMQP types amqp-one gives the fixture's values (checked with its
 * encodeMessage): message-id, to and the application-property values are strings, content-type a
 * symbol, creation-time a timestamp, message-annotation keys symbols, application-property keys
 * strings, 98765 and 123456 ints (amqp-one writes a JS integer that fits as int, 0x71), and the
 * body one data section (a binary body with the inferred flag set).
 *
 * The bytes are not identical all the same: Proton 0.37 always writes a header section (an empty
 * list, 4 bytes) and writes every map as map32 (d1), where amqp-one omits the default header and
 * writes map8 (c1): 537 bytes against amqp-one's 521. The public API offers no way to change that.
 */
static inline pn_message_t *telemetry_message(void) {
  static char body[BODY_SIZE];
  pn_message_t *m = pn_message();
  pn_atom_t id;
  pn_data_t *d;
  telemetry_body(body);

  d = pn_message_annotations(m);
  pn_data_put_map(d);
  pn_data_enter(d);
  pn_data_put_symbol(d, cstr("x-opt-partition-key"));
  pn_data_put_string(d, cstr("sensor-0042"));
  pn_data_put_symbol(d, cstr("x-opt-enqueued-seq"));
  pn_data_put_int(d, 98765);
  pn_data_exit(d);

  id.type = PN_STRING;
  id.u.as_bytes = cstr(MESSAGE_ID);
  pn_message_set_id(m, id);
  pn_message_set_address(m, MESSAGE_TO);
  pn_message_set_content_type(m, CONTENT_TYPE);
  pn_message_set_creation_time(m, CREATION_TIME_MS);

  d = pn_message_properties(m); /* application-properties */
  pn_data_put_map(d);
  pn_data_enter(d);
  pn_data_put_string(d, cstr("deviceId"));
  pn_data_put_string(d, cstr("sensor-0042"));
  pn_data_put_string(d, cstr("sequence"));
  pn_data_put_int(d, 123456);
  pn_data_put_string(d, cstr("region"));
  pn_data_put_string(d, cstr("eu-west-1"));
  pn_data_exit(d);

  pn_data_put_binary(pn_message_body(m), pn_bytes(BODY_SIZE, body));
  pn_message_set_inferred(m, true); /* a binary body is a data section, not an amqp-value */
  return m;
}

/* ---- clocks and resources --------------------------------------------------------------------- */

/* Milliseconds on CLOCK_MONOTONIC: one clock for all processes of the machine. */
static inline double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline double tv_ms(struct timeval tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; }

/* Resident set size now, in bytes (/proc/self/statm), or 0 when it cannot be read. */
static inline long rss_bytes(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

/*
 * The measured interval: it starts when `warmup` items are done (at once when warmup is 0) and
 * ends when warmup + count are. CPU time and RSS are taken at both ends.
 */
typedef struct marks_t {
  long warmup, count, total;
  bool started, finished;
  double t0, t1;
  struct rusage ru0, ru1;
  long rss_start, rss_end;
} marks_t;

static inline void marks_init(marks_t *mk, long warmup, long count) {
  memset(mk, 0, sizeof *mk);
  mk->warmup = warmup;
  mk->count = count;
  mk->total = warmup + count;
}

static inline void marks_start(marks_t *mk) {
  mk->started = true;
  mk->rss_start = rss_bytes();
  getrusage(RUSAGE_SELF, &mk->ru0);
  mk->t0 = now_ms();
}

/* Call with the running count of items done; returns true once, when the last one is. */
static inline bool marks_tick(marks_t *mk, long n) {
  if (!mk->started && n >= mk->warmup) marks_start(mk);
  if (mk->finished || n < mk->total) return false;
  mk->t1 = now_ms();
  getrusage(RUSAGE_SELF, &mk->ru1);
  mk->rss_end = rss_bytes();
  mk->finished = true;
  return true;
}

/* The fields every report has, after the role's own: no leading comma, no closing brace. */
static inline void marks_print(const marks_t *mk) {
  double ms = mk->t1 - mk->t0;
  double user = tv_ms(mk->ru1.ru_utime) - tv_ms(mk->ru0.ru_utime);
  double sys = tv_ms(mk->ru1.ru_stime) - tv_ms(mk->ru0.ru_stime);
  printf("\"warmup\":%ld,\"count\":%ld,\"t0\":%.3f,\"t1\":%.3f,\"ms\":%.3f,\"rate\":%.1f,"
         "\"cpuUserMs\":%.3f,\"cpuSystemMs\":%.3f,\"cpuPercent\":%.1f,"
         "\"rssStart\":%ld,\"rssEnd\":%ld,\"maxRssKb\":%ld",
         mk->warmup, mk->count, mk->t0, mk->t1, ms, ms > 0 ? mk->count * 1000.0 / ms : 0.0, user, sys,
         ms > 0 ? (user + sys) * 100.0 / ms : 0.0, mk->rss_start, mk->rss_end, mk->ru1.ru_maxrss);
}

/* ---- errors ----------------------------------------------------------------------------------- */

static const char *prog_name = "proton-c-bench";
static int exit_code = 0;

static inline void fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit_code = 1;
}

/* Reports a condition the peer or the transport set; returns true when there was one. */
static inline bool report_condition(pn_event_t *e, pn_condition_t *cond) {
  if (!pn_condition_is_set(cond)) return false;
  fail("%s: %s: %s", pn_event_type_name(pn_event_type(e)), pn_condition_get_name(cond),
       pn_condition_get_description(cond) ? pn_condition_get_description(cond) : "");
  return true;
}

/* A non-negative count from the command line, or exit 2. */
static inline long parse_count(const char *s, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0) {
    fprintf(stderr, "%s: %s must be a non-negative integer, got '%s'\n", prog_name, what, s);
    exit(2);
  }
  return v;
}

/* "presettled" -> true, "unsettled" -> false, anything else: exit 2. */
static inline bool parse_mode(const char *s) {
  if (strcmp(s, "presettled") == 0) return true;
  if (strcmp(s, "unsettled") == 0) return false;
  fprintf(stderr, "%s: MODE must be presettled or unsettled, got '%s'\n", prog_name, s);
  exit(2);
}

#endif
