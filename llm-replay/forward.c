/* forward.c — --serve --fallback URL: a request no recording answers goes
 * to another upstream, and its answer comes back as it arrives (streams
 * stay streams). One libcurl multi handle per forwarded request, pumped
 * by the serving thread: until the headers are in, then whenever the
 * client side wants more bytes. */
#include "replay.h"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PENDING_MAX ((size_t)4 << 20)

struct fwd {
    CURLM *multi;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    int status, headers_done, done, paused;
    CURLcode result;
    json_t *headers;
    buf_t pending;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct fwd *f = arg;
    size_t n = size * nmemb;
    f->headers_done = 1;
    if (buf_len(&f->pending) + n > PENDING_MAX) {
        f->paused = 1;
        return CURL_WRITEFUNC_PAUSE;            /* the client reads slower */
    }
    return buf_append(&f->pending, p, n) ? 0 : n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct fwd *f = arg;
    size_t n = size * nmemb;
    hdr_t h;
    if (http_header_line(p, n, 0, &f->status, f->headers, &h) == HDR_END && f->status >= 200) f->headers_done = 1;
    return n;
}

/* one round of I/O; 0, or -1 when the transfer ended */
static int pump(struct fwd *f, int wait_ms)
{
    int running;
    if (f->paused && buf_len(&f->pending) < PENDING_MAX / 2) {
        f->paused = 0;
        curl_easy_pause(f->easy, CURLPAUSE_CONT);
    }
    curl_multi_perform(f->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            f->done = 1;
            f->result = m->data.result;
        }
    if (f->done) return -1;
    curl_multi_poll(f->multi, NULL, 0, wait_ms, NULL);
    return 0;
}

static const char *const hop[] = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect", "te",
    "upgrade", "trailer", "proxy-connection", NULL
};

static int is_hop(const char *n)
{
    for (int i = 0; hop[i]; i++)
        if (!strcasecmp(n, hop[i])) return 1;
    return 0;
}

fwd_t *fwd_start(const char *base, const char *method, const char *uri, const json_t *headers,
                 const char *body, size_t len, long timeout_s, char *err, size_t errlen)
{
    struct fwd *f = calloc(1, sizeof *f);
    if (!f) { snprintf(err, errlen, "out of memory"); return NULL; }
    buf_init(&f->pending, 0);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') bl--;
    size_t ul = bl + strlen(uri) + 1;
    char *url = malloc(ul);
    f->headers = json_array();
    f->body = malloc(len + 1);
    f->multi = curl_multi_init();
    f->easy = curl_easy_init();
    if (!url || !f->headers || !f->body || !f->multi || !f->easy) {
        free(url);
        fwd_free(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(url, ul, "%.*s%s", (int)bl, base, uri);
    memcpy(f->body, body, len);
    /* the request's own headers, less the ones that frame it */
    json_t *pass = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *n = json_string_value(json_array_get(h, 0));
        if (n && !is_hop(n)) json_array_append(pass, h);
    }
    const char *extra[] = { "Expect:" };
    f->hdrs = pass ? http_header_list(pass, extra, 1) : NULL;
    json_decref(pass);
    CURL *e = f->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
    http_set_method(e, method, f->body, len);
    curl_multi_add_handle(f->multi, e);
    while (!f->headers_done && !pump(f, 100)) {}
    if (!f->headers_done || !f->status) {
        snprintf(err, errlen, "fallback %s: %s", base,
                 f->done ? curl_easy_strerror(f->result) : "no answer");
        fwd_free(f);
        return NULL;
    }
    return f;
}

int fwd_status(const fwd_t *f) { return f->status; }
const json_t *fwd_headers(const fwd_t *f) { return f->headers; }

long fwd_read(fwd_t *f, char *p, size_t max)
{
    while (!buf_len(&f->pending)) {
        if (f->done) return f->result == CURLE_OK ? 0 : -1;
        pump(f, 100);
    }
    size_t n = buf_len(&f->pending) < max ? buf_len(&f->pending) : max;
    memcpy(p, buf_ptr(&f->pending), n);
    buf_consume(&f->pending, n);
    return (long)n;
}

void fwd_free(fwd_t *f)
{
    if (!f) return;
    if (f->easy) {
        if (f->multi) curl_multi_remove_handle(f->multi, f->easy);
        curl_easy_cleanup(f->easy);
    }
    if (f->multi) curl_multi_cleanup(f->multi);
    curl_slist_free_all(f->hdrs);
    json_decref(f->headers);
    buf_free(&f->pending);
    free(f->body);
    free(f);
}
