/* sse.c — incremental Server-Sent Events splitter (see sse.h).
 * Every input byte is looked at once: the raw bytes of the current event
 * are copied into a held buffer while a small state machine follows lines
 * (line length so far, a CR that may still be followed by LF) and parses
 * each line when its end is seen. An event ends at a blank line; when that
 * blank line ends in CR, delivery waits for the next byte (or sse_finish)
 * so that a following LF stays in the same event's raw bytes.
 * An event that would pass max_event bytes is delivered in pieces of
 * max_event bytes (truncated=1, no fields); the last piece ends at the
 * blank line. */
#include "sse.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

struct sse {
    size_t max;            /* largest event held */
    sse_cb cb;
    void *arg;
    char *held;            /* raw bytes of the current event (or piece) */
    size_t held_len, held_size;
    buf_t data, name, id;  /* fields of the current event */
    int has_data, has_id;
    size_t line_len;       /* bytes of the current line seen so far */
    int cr;                /* last byte was a CR ending a non-blank line */
    int blank_cr;          /* last byte was a CR ending a blank line */
    int oversized;         /* current event already cut into pieces */
    int first_line;        /* current line is the first of the stream */
    size_t n_oversized;
};

static const char BOM[3] = {'\xEF', '\xBB', '\xBF'};

sse_t *sse_new(size_t max_event, sse_cb cb, void *arg)
{
    sse_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max = max_event ? max_event : SSE_DEFAULT_MAX_EVENT;
    s->cb = cb;
    s->arg = arg;
    s->first_line = 1;
    buf_init(&s->data, 0);
    buf_init(&s->name, 0);
    buf_init(&s->id, 0);
    return s;
}

void sse_free(sse_t *s)
{
    if (!s)
        return;
    free(s->held);
    buf_free(&s->data);
    buf_free(&s->name);
    buf_free(&s->id);
    free(s);
}

static void reset_fields(sse_t *s)
{
    buf_reset(&s->data);
    buf_reset(&s->name);
    buf_reset(&s->id);
    s->has_data = s->has_id = 0;
}

/* Call back with the held bytes and start a new event or piece. */
static int deliver(sse_t *s, int piece)
{
    sse_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.raw = s->held ? s->held : "";
    ev.raw_len = s->held_len;
    ev.name = ev.data = ev.id = "";
    if (s->oversized) {
        ev.truncated = 1;
    } else {
        ev.name = buf_ptr(&s->name);
        ev.name_len = buf_len(&s->name);
        ev.has_data = s->has_data;
        ev.data = buf_ptr(&s->data);
        ev.data_len = s->has_data ? buf_len(&s->data) - 1 : 0; /* last '\n' */
        ev.has_id = s->has_id;
        ev.id = buf_ptr(&s->id);
        ev.id_len = buf_len(&s->id);
    }
    int rc = s->cb ? s->cb(s->arg, &ev) : 0;
    s->held_len = 0;
    if (!piece) {
        reset_fields(s);
        s->oversized = 0;
    }
    return rc;
}

/* The held bytes are full and more of the same event follows. */
static int cut_piece(sse_t *s)
{
    if (!s->oversized) {
        s->oversized = 1;
        s->n_oversized++;
        reset_fields(s);
    }
    return deliver(s, 1);
}

static int grow_held(sse_t *s, size_t need)
{
    if (need <= s->held_size)
        return 0;
    size_t size = s->held_size ? s->held_size : 256;
    while (size < need)
        size = size > s->max / 2 ? s->max : size * 2;
    char *p = realloc(s->held, size);
    if (!p)
        return -1;
    s->held = p;
    s->held_size = size;
    return 0;
}

/* Add raw bytes of the current event, cutting pieces at max. */
static int raw_append(sse_t *s, const char *p, size_t n)
{
    while (n > 0) {
        if (s->held_len == s->max) {
            int rc = cut_piece(s);
            if (rc)
                return rc;
        }
        size_t k = s->max - s->held_len;
        if (k > n)
            k = n;
        if (grow_held(s, s->held_len + k) != 0)
            return -1;
        memcpy(s->held + s->held_len, p, k);
        s->held_len += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int field_is(const char *f, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(f, name, n) == 0;
}

/* One complete non-blank line (without its line end). */
static int parse_line(sse_t *s, const char *line, size_t len)
{
    if (line[0] == ':')
        return 0; /* comment */
    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *v = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (field_is(line, flen, "data")) {
        s->has_data = 1;
        if (buf_append(&s->data, v, vlen) || buf_append(&s->data, "\n", 1))
            return -1;
    } else if (field_is(line, flen, "event")) {
        buf_reset(&s->name);
        if (buf_append(&s->name, v, vlen))
            return -1;
    } else if (field_is(line, flen, "id")) {
        if (!memchr(v, '\0', vlen)) { /* an id with NUL is ignored */
            buf_reset(&s->id);
            if (buf_append(&s->id, v, vlen))
                return -1;
            s->has_id = 1;
        }
    }
    /* "retry" and unknown fields carry nothing we report */
    return 0;
}

/* A line ends with byte c (CR or LF). */
static int end_line(sse_t *s, char c)
{
    size_t len = s->line_len;
    int blank = len == 0;
    if (!blank && !s->oversized) { /* the whole line is held */
        const char *line = s->held + s->held_len - len;
        if (s->first_line && len >= 3 && memcmp(line, BOM, 3) == 0) {
            line += 3; /* a BOM at stream start is not part of the field */
            len -= 3;
        }
        blank = len == 0;
        if (!blank && parse_line(s, line, len) != 0)
            return -1;
    }
    s->first_line = 0;
    s->line_len = 0;
    int rc = raw_append(s, &c, 1);
    if (rc)
        return rc;
    if (c == '\r') {
        if (blank)
            s->blank_cr = 1;
        else
            s->cr = 1;
        return 0;
    }
    return blank ? deliver(s, 0) : 0;
}

/* The byte c after a CR line end: an LF joins that line end; a blank line
 * then ends the event. Sets *used to the bytes taken (0 or 1); returns 0,
 * the callback's value or -1. */
static int after_cr(sse_t *s, char c, size_t *used)
{
    int blank = s->blank_cr;
    s->cr = s->blank_cr = 0;
    *used = 0;
    if (c == '\n') {
        int rc = raw_append(s, &c, 1);
        if (rc)
            return rc;
        *used = 1;
    }
    return blank ? deliver(s, 0) : 0;
}

int sse_feed(sse_t *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int rc;
        if (s->cr || s->blank_cr) {
            size_t used;
            if ((rc = after_cr(s, p[i], &used)) != 0)
                return rc;
            i += used;
            continue;
        }
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r')
            j++;
        if (j > i) {
            if ((rc = raw_append(s, p + i, j - i)) != 0)
                return rc;
            s->line_len += j - i;
        }
        if (j == n)
            break;
        if ((rc = end_line(s, p[j])) != 0)
            return rc;
        i = j + 1;
    }
    return 0;
}

int sse_finish(sse_t *s)
{
    if (!s->blank_cr)
        return 0;
    s->blank_cr = 0;
    return deliver(s, 0);
}

const char *sse_remainder(sse_t *s, size_t *len)
{
    *len = s->held_len;
    return s->held && s->held_len ? s->held : "";
}

size_t sse_oversized(const sse_t *s) { return s->n_oversized; }
size_t sse_pending(const sse_t *s) { return s->held_len; }
