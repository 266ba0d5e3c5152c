/* feedback.c — POST /v1/feedback: a client rates an exchange (or prefers
 * it over another), and the relay writes a "feedback" capture event that
 * llm-export turns into preference pairs. The body:
 *   {"id": "<exchange id>", "rating": number, "label": "…",
 *    "comment": "…", "preferred_over": "<other exchange id>"}
 * An id must name an exchange this process relayed (a bounded set of the
 * most recent ids), or — when exchanges are spread over processes
 * (--workers, --inetd) — be a well-formed UUIDv7 from the past
 * limits.feedback_max_age. Anything else is a native 400. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relay.h"
#include "capture.h"
#include "clock.h"
#include "hash.h"

#define SEEN_CAP 65536               /* most recent exchange ids kept */

struct idset {
    unsigned char (*ring)[16];       /* ids in arrival order */
    size_t head, count;
    int32_t *table;                  /* open addressing: ring index + 1, 0 empty, -1 deleted */
    size_t tcap, used;               /* used counts deleted slots too */
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "8-4-4-4-12" hex → 16 bytes; -1 if not a UUID */
static int uuid_bytes(const char *s, unsigned char out[16])
{
    if (!id_valid(s)) return -1;
    int k = 0;
    for (const char *p = s; *p && k < 32; p++) {
        if (*p == '-') continue;
        int v = hexval(*p);
        if (v < 0) return -1;
        if (k % 2 == 0) out[k / 2] = (unsigned char)(v << 4); else out[k / 2] |= (unsigned char)v;
        k++;
    }
    return k == 32 ? 0 : -1;
}

static size_t hash16(const unsigned char *k)
{
    return (size_t)hash_fnv1a(k, 16);
}

static void table_put(struct idset *s, size_t ring_index)
{
    size_t j = hash16(s->ring[ring_index]) & (s->tcap - 1);
    while (s->table[j] > 0) j = (j + 1) & (s->tcap - 1);
    if (s->table[j] == 0) s->used++;
    s->table[j] = (int32_t)ring_index + 1;
}

static long table_find(const struct idset *s, const unsigned char k[16])
{
    size_t j = hash16(k) & (s->tcap - 1);
    while (s->table[j] != 0) {
        if (s->table[j] > 0 && !memcmp(s->ring[s->table[j] - 1], k, 16)) return (long)j;
        j = (j + 1) & (s->tcap - 1);
    }
    return -1;
}

static void table_rebuild(struct idset *s)
{
    memset(s->table, 0, s->tcap * sizeof *s->table);
    s->used = 0;
    for (size_t i = 0; i < s->count; i++) table_put(s, (s->head + SEEN_CAP - s->count + i) % SEEN_CAP);
}

/* The set is fixed in size (1.5 MiB): made and touched at start, so the
 * memory it holds is there from the first moment, not grown into. */
int feedback_init(relay_t *r)
{
    if (r->seen) return 0;
    struct idset *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->ring = malloc((size_t)SEEN_CAP * 16);
    s->tcap = SEEN_CAP * 2;                /* load at most 3/4, deleted slots counted */
    s->table = malloc(s->tcap * sizeof *s->table);
    if (!s->ring || !s->table) { free(s->ring); free(s->table); free(s); return -1; }
    explicit_bzero(s->ring, (size_t)SEEN_CAP * 16);            /* really written: not turned */
    explicit_bzero(s->table, s->tcap * sizeof *s->table);      /* into a calloc of untouched pages */
    r->seen = s;
    return 0;
}

void feedback_seen(relay_t *r, const char *id)
{
    unsigned char k[16];
    if (uuid_bytes(id, k) < 0) return;
    if (!r->seen && feedback_init(r) < 0) return;
    struct idset *s = r->seen;
    if (s->count == SEEN_CAP) {             /* forget the oldest */
        long j = table_find(s, s->ring[s->head]);
        if (j >= 0) s->table[j] = -1;
        s->count--;
    }
    memcpy(s->ring[s->head], k, 16);
    table_put(s, s->head);
    s->head = (s->head + 1) % SEEN_CAP;
    s->count++;
    if (s->used > s->tcap * 3 / 4) table_rebuild(s);
}

void feedback_cleanup(relay_t *r)
{
    if (!r->seen) return;
    free(r->seen->ring);
    free(r->seen->table);
    free(r->seen);
    r->seen = NULL;
}

/* Known here, or plausible when other processes relay too. */
static int id_known(const relay_t *r, const char *id)
{
    unsigned char k[16];
    if (uuid_bytes(id, k) < 0) return 0;
    if (r->seen && table_find(r->seen, k) >= 0) return 1;
    if (!(r->workers > 1 || r->inetd)) return 0;
    if ((k[6] >> 4) != 7) return 0;          /* the relay's ids are UUIDv7 */
    int64_t ms = 0;
    for (int i = 0; i < 6; i++) ms = (ms << 8) | k[i];
    int64_t now_ms = clock_wall_us() / 1000;
    return ms <= now_ms + 1000 && now_ms - ms <= r->conf->feedback_max_age_ms;
}

/* Handle the body of a feedback request: on success write the event and
 * return 200 with a small JSON answer; else a 400 naming the field. The
 * answer is malloc'd into *out. */
int feedback_handle(exchange_t *ex, char **out)
{
    static const char *const keys[] = { "id", "rating", "label", "comment", "preferred_over", NULL };
    relay_t *r = ex->r;
    char msg[256] = "";
    json_error_t je;
    json_t *b = json_loadb(buf_ptr(&ex->body), buf_len(&ex->body), 0, &je);
    const char *k; json_t *v;
    if (!json_is_object(b)) { snprintf(msg, sizeof msg, "the body must be a JSON object"); goto bad; }
    json_object_foreach(b, k, v) {
        int ok = 0;
        for (int i = 0; keys[i]; i++) if (!strcmp(k, keys[i])) ok = 1;
        if (!ok) { snprintf(msg, sizeof msg, "unknown field '%.100s'", k); goto bad; }
    }
    json_t *id = json_object_get(b, "id"), *rating = json_object_get(b, "rating"),
           *label = json_object_get(b, "label"), *comment = json_object_get(b, "comment"),
           *pref = json_object_get(b, "preferred_over");
    if (!json_is_string(id)) { snprintf(msg, sizeof msg, "id: the exchange id (a string) is required"); goto bad; }
    if (!id_known(r, json_string_value(id))) { snprintf(msg, sizeof msg, "id: unknown exchange '%.60s'", json_string_value(id)); goto bad; }
    if (rating && !json_is_number(rating)) { snprintf(msg, sizeof msg, "rating: must be a number"); goto bad; }
    if (label && !json_is_string(label)) { snprintf(msg, sizeof msg, "label: must be a string"); goto bad; }
    if (comment && !json_is_string(comment)) { snprintf(msg, sizeof msg, "comment: must be a string"); goto bad; }
    if (pref && (!json_is_string(pref) || !id_known(r, json_string_value(pref)))) {
        snprintf(msg, sizeof msg, "preferred_over: unknown exchange"); goto bad;
    }
    if (pref && !strcmp(json_string_value(pref), json_string_value(id))) {
        snprintf(msg, sizeof msg, "preferred_over: an exchange cannot be preferred over itself"); goto bad;
    }
    if (!rating && !label && !comment && !pref) {
        snprintf(msg, sizeof msg, "give at least one of rating, label, comment, preferred_over"); goto bad;
    }
    json_t *ev = capture_event("feedback", json_string_value(id), clock_wall_us());
    if (rating) json_object_set(ev, "rating", rating);
    if (label) json_object_set(ev, "label", label);
    if (comment) json_object_set(ev, "comment", comment);
    if (pref) json_object_set(ev, "preferred_over", pref);
    json_object_set_new(ev, "feedback_id", json_string(ex->id));
    ex_emit_event(ex, ev);
    json_t *ans = json_pack("{s:s, s:s, s:O}", "object", "feedback", "feedback_id", ex->id, "id", id);
    *out = json_dumps(ans, JSON_COMPACT);
    json_decref(ans);
    json_decref(b);
    return 200;
bad:
    json_decref(b);
    {
        json_t *e = json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", msg, "type", "invalid_request_error", "param", "code");
        *out = json_dumps(e, JSON_COMPACT);
        json_decref(e);
    }
    return 400;
}
