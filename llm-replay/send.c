/* send.c — the replay loop: libcurl multi, at most --concurrency
 * transfers at once, each started when it is due (at once; every 1/R s
 * with --rate R; at the recorded offset from the first request divided by
 * --speed with --timing original). Each answer is recorded as capture
 * events as it arrives (one chunk per SSE event, with its time), so that
 * it goes through the same view as the recorded one; its diff record is
 * written when the transfer ends. */
#include "replay.h"
#include "capture.h"
#include "clock.h"
#include "err.h"
#include "sse.h"
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const send_opts_t *o;
    job_t *job;
    CURL *h;
    struct curl_slist *hdrs;
    int64_t t0;                  /* monotonic start */
    int64_t ttfb, ttft;          /* µs from t0, -1 none */
    int status;
    json_t *resp_headers;
    json_t *chunks;
    int is_sse;
    sse_t *sse;
    buf_t body;                  /* a non-stream body */
    size_t received;             /* stream bytes so far */
    usage_t u;                   /* for the first token's time */
    int failed;                  /* 1 memory, 2 --max-body */
    int slot;                    /* in the table of live transfers */
    char errbuf[CURL_ERROR_SIZE];
} xfer_t;

static int64_t since(const xfer_t *x) { return clock_mono_us() - x->t0; }

static int add_chunk(xfer_t *x, const char *p, size_t n, int sse, const char *name, size_t name_len)
{
    json_t *c = capture_event("chunk", x->job->id, clock_wall_us());
    if (!c) return -1;
    int rc = json_object_set_new(c, "seq", json_integer((json_int_t)json_array_size(x->chunks))) ||
             json_object_set_new(c, "t_us", json_integer(since(x))) ||
             capture_set_bytes(c, "data", "data_encoding", p, n) ||
             json_object_set_new(c, "sse", json_boolean(sse)) ||
             (name_len && json_object_set_new(c, "event_name", json_stringn(name, name_len)));
    if (rc || json_array_append_new(x->chunks, c)) {
        if (rc) json_decref(c);
        return -1;
    }
    return 0;
}

static int on_event(void *arg, const sse_event_t *e)
{
    xfer_t *x = arg;
    if (x->ttft < 0 && e->has_data && usage_from_event(&x->u, e->name, e->name_len, e->data, e->data_len))
        x->ttft = since(x);
    return add_chunk(x, e->raw, e->raw_len, 1, e->name, e->name_len) ? 1 : 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    if (x->ttfb < 0) x->ttfb = since(x);
    if (x->is_sse) {
        if (x->received + n > x->o->max_body) { x->failed = 2; return 0; }
        x->received += n;                  /* the events hold the bytes */
        if (sse_feed(x->sse, p, n)) { x->failed = 1; return 0; }
        return n;
    }
    if (x->ttft < 0) x->ttft = x->ttfb;
    if (buf_append(&x->body, p, n)) { x->failed = buf_len(&x->body) + n > x->o->max_body ? 2 : 1; return 0; }
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    hdr_t h;
    int k = http_header_line(p, n, 1, &x->status, x->resp_headers, &h);
    if (k < 0) { x->failed = 1; return 0; }
    if (k == HDR_FIELD && h.nlen == 12 && !strncasecmp(h.name, "content-type", 12) && h.vlen >= 17 &&
        !strncasecmp(h.value, "text/event-stream", 17) && x->status < 300) {
        x->is_sse = 1;
        if (!x->sse && !(x->sse = sse_new(0, on_event, x))) { x->failed = 1; return 0; }
    }
    return n;
}

static void xfer_free(xfer_t *x)
{
    if (!x) return;
    curl_slist_free_all(x->hdrs);
    json_decref(x->resp_headers);
    json_decref(x->chunks);
    sse_free(x->sse);
    buf_free(&x->body);
    free(x);
}

static xfer_t *xfer_start(const send_opts_t *o, job_t *j, CURLM *multi)
{
    xfer_t *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->o = o;
    x->job = j;
    x->ttfb = x->ttft = -1;
    usage_init(&x->u);
    buf_init(&x->body, o->max_body);
    x->resp_headers = json_array();
    x->chunks = json_array();
    if (!(x->h = curl_easy_init()) || !x->resp_headers || !x->chunks) goto fail;
    /* no headers curl would add on its own */
    const char *off[] = { "Expect:", rec_header(j->headers, "content-type") ? NULL : "Content-Type:",
                          rec_header(j->headers, "accept") ? NULL : "Accept:" };
    if (!(x->hdrs = http_header_list(j->headers, off, sizeof off / sizeof *off))) goto fail;
    const char *method = jstr(j->request, "method");
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_URL, j->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    http_set_method(h, method, buf_ptr(&j->body), buf_len(&j->body));
    x->t0 = clock_mono_us();
    if (curl_multi_add_handle(multi, h) != CURLM_OK) goto fail;
    return x;
fail:
    if (x->h) curl_easy_cleanup(x->h);
    xfer_free(x);
    return NULL;
}

/* The replayed exchange as capture events, and its view. */
static int replayed_view(xfer_t *x, CURLcode res, view_t *v)
{
    int64_t total = since(x);
    if (res != CURLE_OK || x->failed) {
        memset(v, 0, sizeof *v);
        v->ttft_us = v->total_us = -1;
        v->tools = json_array();
        const char *why = x->failed == 2 ? "response larger than --max-body"
                        : x->failed ? "out of memory"
                        : x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
        v->error = strdup(why);
        return v->error && v->tools ? 0 : -1;
    }
    if (x->is_sse) {
        sse_finish(x->sse);
        size_t rn;
        const char *rest = sse_remainder(x->sse, &rn);
        if (rn && add_chunk(x, rest, rn, 0, NULL, 0)) return -1;
    } else if (buf_len(&x->body)) {
        int64_t t = since(x);
        if (add_chunk(x, buf_ptr(&x->body), buf_len(&x->body), 0, NULL, 0)) return -1;
        json_object_set_new(json_array_get(x->chunks, 0), "t_us", json_integer(x->ttfb >= 0 ? x->ttfb : t));
    }
    json_t *resp = capture_event("response", x->job->id, clock_wall_us());
    json_t *end = capture_event("end", x->job->id, clock_wall_us());
    json_t *other = json_array();
    int rc = -1;
    if (resp && end && other &&
        !json_object_set_new(resp, "status", json_integer(x->status)) &&
        !json_object_set(resp, "headers", x->resp_headers) &&
        !json_object_set_new(resp, "t_us", json_integer(x->ttfb >= 0 ? x->ttfb : total)) &&
        !json_object_set_new(resp, "source", json_string("upstream")) &&
        !json_object_set_new(end, "status", json_integer(x->status)) &&
        !json_object_set_new(end, "timing", json_pack("{s:o, s:o, s:I}",
                             "ttfb_us", x->ttfb >= 0 ? json_integer(x->ttfb) : json_null(),
                             "ttft_us", x->ttft >= 0 ? json_integer(x->ttft) : json_null(),
                             "total_us", (json_int_t)total))) {
        merged_t m = { .id = x->job->id, .request = x->job->request, .response = resp, .end = end,
                       .chunks = x->chunks, .other = other, .complete = 1, .request_us = x->job->request_us };
        rc = view_of(&m, v);
    }
    json_decref(resp);
    json_decref(end);
    json_decref(other);
    return rc;
}

/* write one record; 0, 1 on EPIPE (stop quietly), -1 on a write error */
static int emit(const send_opts_t *o, json_t *r)
{
    int bad = !r || json_dumpf(r, o->out, JSON_COMPACT | JSON_REAL_PRECISION(6)) || fputc('\n', o->out) == EOF || fflush(o->out);
    json_decref(r);
    if (!bad) return 0;
    return errno == EPIPE ? 1 : -1;
}

static int finish(const send_opts_t *o, xfer_t *x, CURLcode res, summary_t *s)
{
    view_t rep;
    if (replayed_view(x, res, &rep)) { errno = ENOMEM; return -1; }
    job_t *j = x->job;
    outcome_t oc;
    json_t *r = compare(j->id, j->request, o->model_sent, &j->rec, &rep, o->failon, &oc);
    int err = !rep.status || rep.error;
    view_free(&rep);
    if (!r || summary_add(s, &oc, 0, err)) { json_decref(r); errno = ENOMEM; return -1; }
    return emit(o, r);
}

static int skipped(const send_opts_t *o, job_t *j, summary_t *s)
{
    outcome_t oc;
    memset(&oc, 0, sizeof oc);
    summary_add(s, &oc, 1, 0);
    return emit(o, skipped_record(j->id, j->request, j->skip));
}

/* µs after the start at which job i is due */
static int64_t due(const send_opts_t *o, const plan_t *p, size_t i, int64_t first_us, size_t nth)
{
    switch (o->timing) {
    case TIMING_RATE: return (int64_t)((double)nth * 1e6 / o->rate);
    case TIMING_ORIGINAL:
        return o->speed > 0 ? (int64_t)((double)(p->jobs[i]->request_us - first_us) / o->speed) : 0;
    default: return 0;
    }
}

int send_all(const send_opts_t *o, plan_t *p, summary_t *s, char *err, size_t errlen)
{
    CURLM *multi = curl_multi_init();
    if (!multi) { snprintf(err, errlen, "unable to start libcurl"); return EXIT_TEMP; }
    int64_t first_us = 0;
    for (size_t i = 0; i < p->n; i++)
        if (!p->jobs[i]->skip) { first_us = p->jobs[i]->request_us; break; }
    xfer_t **live = calloc((size_t)o->concurrency, sizeof *live);
    if (!live) { curl_multi_cleanup(multi); snprintf(err, errlen, "out of memory"); return EXIT_TEMP; }
    int64_t start = clock_mono_us();
    size_t next = 0, nth = 0;
    int active = 0, rc = 0, stop = 0, werr = 0;
    uint64_t late = 0;
    while (!stop && (next < p->n || active > 0)) {
        int64_t now = clock_mono_us() - start;
        while (!stop && next < p->n && active < o->concurrency) {
            job_t *j = p->jobs[next];
            if (j->skip) {
                int e = skipped(o, j, s);
                if (e) { stop = e; werr = errno; break; }
                next++;
                continue;
            }
            int64_t d = due(o, p, next, first_us, nth);
            if (d > now) break;
            if (now - d > 50000) late++;
            xfer_t *x = xfer_start(o, j, multi);
            if (!x) { snprintf(err, errlen, "out of memory"); rc = EXIT_TEMP; stop = -1; break; }
            for (int k = 0; k < o->concurrency; k++)
                if (!live[k]) { live[k] = x; x->slot = k; break; }
            next++;
            nth++;
            active++;
        }
        int running;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while (!stop && (msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer_t *x;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(multi, x->h);
            curl_easy_cleanup(x->h);
            live[x->slot] = NULL;
            active--;
            int e = finish(o, x, res, s);
            werr = errno;
            xfer_free(x);
            if (e) stop = e;
        }
        if (stop) break;
        if (next >= p->n && active == 0) break;
        long wait_ms = 1000;
        if (next < p->n && active < o->concurrency) {
            int64_t d = due(o, p, next, first_us, nth) - (clock_mono_us() - start);
            wait_ms = d <= 0 ? 0 : d / 1000 + (d % 1000 != 0);
            if (wait_ms > 1000) wait_ms = 1000;
        }
        if (wait_ms > 0 || active > 0) curl_multi_poll(multi, NULL, 0, (int)wait_ms, NULL);
    }
    /* transfers still running when the output went away */
    for (int i = 0; i < o->concurrency; i++)
        if (live[i]) {
            curl_multi_remove_handle(multi, live[i]->h);
            curl_easy_cleanup(live[i]->h);
            xfer_free(live[i]);
        }
    free(live);
    if (stop > 0 && !rc) rc = -1;          /* EPIPE */
    if (stop < 0 && !rc) {
        snprintf(err, errlen, "unable to write %s: %s", o->out_name, strerror(werr));
        rc = EXIT_TEMP;
    }
    if (late && o->timing != TIMING_NONE)
        fprintf(stderr, PROG ": warning: %llu requests started more than 50 ms late (--concurrency %d)\n",
                (unsigned long long)late, o->concurrency);
    curl_multi_cleanup(multi);
    return rc;
}
