/* route.c — one line in: is it one JSON object? Which day does its "ts"
 * say? Then into that day's file; anything else into the rejects file of
 * the day it arrived, as a reject event (never dropped silently). */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "tee.h"
#include "capture.h"
#include "clock.h"
#include "id.h"
#include "jsonscan.h"

#define REJECT_KEEP 65536   /* bytes of a rejected line kept in its event */

void route_reject(tee_t *t, const char *source, const char *reason, const char *line, size_t len,
                  size_t full_len, day_t day)
{
    t->rejected++;
    int64_t now = clock_wall_us();
    char id[ID_LEN];
    id_new(now, id);
    json_t *ev = capture_event("reject", id, now);
    json_object_set_new(ev, "reason", json_string(reason));
    json_object_set_new(ev, "source", json_string(source));
    json_object_set_new(ev, "bytes", json_integer((json_int_t)full_len));
    if (len > full_len) len = full_len;
    if (len > REJECT_KEEP) len = REJECT_KEEP;
    if (len < full_len) json_object_set_new(ev, "truncated", json_true());
    capture_set_bytes(ev, "line", "line_encoding", line, len);
    buf_t b;
    buf_init(&b, 0);
    dayfile_t *f = NULL;
    if (capture_dump(ev, &b) == 0 && (f = store_get(t, day, 1)))
        store_append(t, f, buf_ptr(&b), buf_len(&b) - 1);
    char d[11];
    day_format(day, d);
    tee_warn_limited(t, "warning: %s: %zu-byte line rejected: %s (kept in %s)", source, full_len, reason,
                     f ? f->path : "nowhere: the rejects file cannot be opened");
    buf_free(&b);
    json_decref(ev);
}

void route_line(tee_t *t, conn_t *c, const char *line, size_t len)
{
    const char *ts, *why;
    size_t tslen;
    if (jsonscan_object(line, len, &ts, &tslen, &why) < 0) {
        route_reject(t, c->name, why, line, len, len, day_of(t, clock_wall_us()));
        c->rejects++;
        return;
    }
    int64_t us;
    char tbuf[64];
    if (ts && tslen < sizeof tbuf) {
        memcpy(tbuf, ts, tslen);
        tbuf[tslen] = '\0';
        if (clock_parse_rfc3339(tbuf, &us) < 0) ts = NULL;
    } else {
        ts = NULL;
    }
    if (!ts) {
        us = clock_wall_us();
        t->no_ts++;
        tee_warn_limited(t, "warning: %s: an event without a valid \"ts\" is filed under the day it arrived", c->name);
    }
    dayfile_t *f = store_get(t, day_of(t, us), 0);
    if (!f) {
        /* cannot open the day's file: hold the line as a reject of today */
        route_reject(t, c->name, "the day's file cannot be opened", line, len, len, day_of(t, clock_wall_us()));
        return;
    }
    store_append(t, f, line, len);
    c->lines++;
    t->accepted++;
    if (t->c->copy) {
        if (buf_append(&t->copy_wait, line, len) < 0 || buf_append(&t->copy_wait, "\n", 1) < 0) t->copy_dropped++;
    }
}
