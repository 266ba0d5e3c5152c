/* index.c — --serve: the recorded answers, found by the request that asked
 * for them. A request is known by its protocol, method, path and body
 * normalised (keys sorted, no whitespace, "stream" and "stream_options"
 * left out), hashed with SHA-256. Each exchange is indexed as its client
 * sent it (answered with what the client received); when the relay sent
 * the upstream another path or body (translation, a model alias), also as
 * the upstream got it (answered with what the upstream sent), so that
 * llm-replay can stand in for the upstream behind a relay. Several
 * answers to one request are served in the order they were recorded,
 * round robin. */
#include "replay.h"
#include "assemble.h"
#include "err.h"
#include "sse.h"
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    answer_t **v;
    size_t n;
    uint64_t turn;
} slot_t;

struct sindex {
    json_t *keys;                /* hex key → slot number */
    slot_t *slots;
    size_t nslots, cap;
    size_t answers, skipped;
    jqwhere_t *where;
    char error[ERRBUF_SIZE];
    pthread_mutex_t mu;
};

sindex_t *sindex_new(void)
{
    sindex_t *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    if (!(x->keys = json_object())) { free(x); return NULL; }
    pthread_mutex_init(&x->mu, NULL);
    return x;
}

static void answer_free(answer_t *a)
{
    if (!a) return;
    free(a->id);
    json_decref(a->headers);
    buf_free(&a->bytes);
    free(a->pieces);
    free(a->assembled);
    free(a);
}

void sindex_free(sindex_t *x)
{
    if (!x) return;
    for (size_t i = 0; i < x->nslots; i++) {
        for (size_t k = 0; k < x->slots[i].n; k++) answer_free(x->slots[i].v[k]);
        free(x->slots[i].v);
    }
    free(x->slots);
    json_decref(x->keys);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

void sindex_where(sindex_t *x, jqwhere_t *w) { x->where = w; }

void sindex_counts(const sindex_t *x, size_t *answers, size_t *keys, size_t *skipped)
{
    *answers = x->answers;
    *keys = x->nslots;
    *skipped = x->skipped;
}

const char *sindex_error(const sindex_t *x) { return x->error[0] ? x->error : NULL; }

/* ---- the key */

/* body normalised: JSON objects sorted and compact without the stream
 * flags; anything else as it is */
static char *normalise(const char *body, size_t len, size_t *outlen)
{
    json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
    char *s = NULL;
    if (json_is_object(j)) {
        json_object_del(j, "stream");
        json_object_del(j, "stream_options");
        s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (s) *outlen = strlen(s);
    }
    json_decref(j);
    if (!s && (s = malloc(len + 1))) {
        memcpy(s, body, len);
        s[len] = 0;
        *outlen = len;
    }
    return s;
}

static int make_key(int protocol, const char *method, const char *path, const char *body, size_t len,
                    char hex[65])
{
    size_t nl;
    char *norm = normalise(body, len, &nl);
    if (!norm) return -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned mdlen = 0;
    char p = (char)('0' + protocol);
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(c, &p, 1) && EVP_DigestUpdate(c, method, strlen(method) + 1) &&
             EVP_DigestUpdate(c, path, strlen(path) + 1) && EVP_DigestUpdate(c, norm, nl) &&
             EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    free(norm);
    if (!ok) return -1;
    for (unsigned i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", md[i]);
    return 0;
}

static int put(sindex_t *x, const char *key, answer_t *a)
{
    json_t *k = json_object_get(x->keys, key);
    size_t s;
    if (k) {
        s = (size_t)json_integer_value(k);
    } else {
        if (x->nslots == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 64;
            slot_t *nv = realloc(x->slots, nc * sizeof *nv);
            if (!nv) return -1;
            x->slots = nv;
            x->cap = nc;
        }
        s = x->nslots;
        if (json_object_set_new(x->keys, key, json_integer((json_int_t)s))) return -1;
        memset(&x->slots[s], 0, sizeof x->slots[s]);
        x->nslots++;
    }
    slot_t *sl = &x->slots[s];
    answer_t **nv = realloc(sl->v, (sl->n + 1) * sizeof *nv);
    if (!nv) return -1;
    sl->v = nv;
    sl->v[sl->n++] = a;
    return 0;
}

/* ---- an answer from one side of a recorded exchange */

static int on_event(void *arg, const sse_event_t *e)
{
    if (e->has_data && usage_is_usage_only_chunk(e->data, e->data_len)) *(int *)arg = 1;
    return 0;
}

/* an SSE event whose data is an OpenAI usage-only chunk */
static int usage_only(const char *p, size_t n)
{
    int yes = 0;
    sse_t *s = sse_new(0, on_event, &yes);
    if (s) {
        sse_feed(s, p, n);
        sse_finish(s);
        sse_free(s);
    }
    return yes;
}

static answer_t *answer_of(const merged_t *m, int side, int translated)
{
    answer_t *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    buf_init(&a->bytes, 0);
    size_t n = json_array_size(m->chunks);
    a->pieces = calloc(n ? n : 1, sizeof *a->pieces);
    a->id = strdup(m->id);
    a->headers = json_incref(json_object_get(m->response, "headers"));
    if (!a->pieces || !a->id || !a->headers) goto fail;
    a->status = (int)jint(m->response, "status", 200);
    a->resp_us = jint(m->response, "t_us", 0);
    a->translated_client = translated && side == REC_CLIENT;
    const char *up = jstr(m->request, "upstream_protocol");
    a->protocol = side == REC_UPSTREAM && up ? !strcmp(up, "anthropic") : rec_protocol(m->request);
    size_t i;
    json_t *c;
    json_array_foreach(m->chunks, i, c) {
        /* untranslated: every chunk, withheld ones marked (served when
         * the request asks for usage) */
        if (translated && !rec_chunk_on(c, side, translated)) continue;
        piece_t *p = &a->pieces[a->npieces];
        p->off = buf_len(&a->bytes);
        if (rec_bytes(c, "data", "data_encoding", &a->bytes)) goto fail;
        p->len = buf_len(&a->bytes) - p->off;
        p->t_us = jint(c, "t_us", 0);
        p->usage_only = json_is_true(json_object_get(c, "withheld")) ||
                        (json_is_true(json_object_get(c, "sse")) && usage_only(buf_ptr(&a->bytes) + p->off, p->len));
        if (json_is_true(json_object_get(c, "sse"))) a->streamed = 1;
        a->npieces++;
    }
    if (a->streamed) {
        assembled_t as;
        if (assemble_exchange(m, side == REC_CLIENT ? ASSEMBLE_CLIENT : ASSEMBLE_UPSTREAM, &as) == 0) {
            a->assembled = json_dumps(as.message, JSON_COMPACT);
            assemble_free(&as);
        }
    }
    return a;
fail:
    answer_free(a);
    return NULL;
}

static int servable(const merged_t *m)
{
    if (!m->request || !m->response || !m->end || !m->complete) return 0;
    const char *src = jstr(m->response, "source");
    if (src && !strcmp(src, "relay")) return 0;      /* the relay's own answer */
    const char *outcome = jstr(m->end, "outcome");
    if (outcome && (!strcmp(outcome, "client_closed") || !strcmp(outcome, "aborted"))) return 0;
    if (json_is_true(json_object_get(m->request, "body_truncated"))) return 0;
    return jstr(m->request, "method") && jstr(m->request, "path");
}

static int add(sindex_t *x, const merged_t *m)
{
    int translated = rec_has_client_side(m->chunks);
    const char *method = jstr(m->request, "method"), *path = jstr(m->request, "path");
    buf_t body;
    buf_init(&body, 0);
    char key[65], ukey[65];
    int rc = -1;
    answer_t *a = NULL, *u = NULL;
    if (rec_bytes(m->request, "body", "body_encoding", &body)) goto out;
    if (make_key(rec_protocol(m->request), method, path, buf_ptr(&body), buf_len(&body), key)) goto out;
    if (!(a = answer_of(m, REC_CLIENT, translated)) || put(x, key, a)) goto out;
    a = NULL;                                 /* the index owns it */
    x->answers++;
    /* as the upstream got it */
    const char *uurl = jstr(m->request, "upstream_url");
    if (uurl) {
        char upath[2048];
        url_path(uurl, upath, sizeof upath);
        const char *up = jstr(m->request, "upstream_protocol");
        int uproto = up ? !strcmp(up, "anthropic") : rec_protocol(m->request);
        if (json_object_get(m->request, "upstream_body")) {
            buf_reset(&body);
            if (rec_bytes(m->request, "upstream_body", "upstream_body_encoding", &body)) goto out;
        }
        if (make_key(uproto, method, upath, buf_ptr(&body), buf_len(&body), ukey)) goto out;
        if (strcmp(ukey, key)) {
            if (!(u = answer_of(m, REC_UPSTREAM, translated)) || put(x, ukey, u)) goto out;
            u = NULL;
            x->answers++;
        }
    }
    rc = 0;
out:
    answer_free(a);
    answer_free(u);
    buf_free(&body);
    return rc;
}

int sindex_add(void *arg, const merged_t *m)
{
    sindex_t *x = arg;
    if (x->where) {
        int w = jqwhere_test_new(x->where, where_row(m), x->error, sizeof x->error);
        if (w < 0) return 1;
        if (!w) return 0;
    }
    if (!servable(m)) { x->skipped++; return 0; }
    if (add(x, m)) {
        snprintf(x->error, sizeof x->error, "out of memory");
        return 1;
    }
    return 0;
}

const answer_t *sindex_find(sindex_t *x, int protocol, const char *method, const char *path,
                            const char *body, size_t len, int stream, int *same)
{
    char key[65];
    if (make_key(protocol, method, path, body, len, key)) return NULL;
    json_t *k = json_object_get(x->keys, key);
    if (!k) return NULL;
    slot_t *sl = &x->slots[json_integer_value(k)];
    pthread_mutex_lock(&x->mu);
    size_t nsame = 0;
    for (size_t i = 0; i < sl->n; i++) nsame += sl->v[i]->streamed == stream;
    *same = nsame > 0;
    size_t want = (size_t)(sl->turn++ % (nsame ? nsame : sl->n)), seen = 0;
    const answer_t *a = NULL;
    for (size_t i = 0; i < sl->n && !a; i++) {
        if (nsame && sl->v[i]->streamed != stream) continue;
        if (seen++ == want) a = sl->v[i];
    }
    pthread_mutex_unlock(&x->mu);
    return a;
}
