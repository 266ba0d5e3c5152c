/* relay.h — the relay's shared types: configuration, routes, upstreams,
 * exchanges, and the process-wide state held by the event loop. */
#ifndef LLM_RELAY_H
#define LLM_RELAY_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include "buf.h"
#include "id.h"
#include "proto.h"
#include "sse.h"
#include "usage.h"

/* The protocol an upstream speaks to this client: its own, or (PROTO_ANY,
 * no protocol configured) the client's — pass-through, no translation. */
#define UP_PROTO(up, client) ((up)->protocol >= 0 ? (up)->protocol : (client))

typedef struct upstream {
    char *name;
    char *url;               /* base URL without trailing '/' */
    int protocol;            /* PROTO_ANY: whatever the client speaks */
    char *api_key;           /* injected provider key, or NULL */
    int pass_client_key;     /* forward the client's own credentials */
    char *ca_file;           /* custom CA bundle, or NULL */
    int insecure;            /* TLS verification off (explicit only) */
    long connect_timeout_ms;
    long timeout_ms;         /* no response headers by then → 504 */
    long idle_timeout_ms;    /* no body bytes for this long → end */
    int inject_stream_usage; /* ask OpenAI-compatible streams for usage */
    int stream_options_rejected; /* it answered 400/422 naming stream_options: asked no more (until a reload) */
    long long max_tokens;    /* default max_tokens for translated requests to Anthropic */
} upstream_t;

typedef struct route {
    char *name;
    char *prefix;            /* path prefix, stripped before forwarding */
    char *model;             /* glob on the body's model field */
    int protocol;            /* client protocol to match, -1 = any */
    upstream_t *up;
    char *target_model;      /* a model alias: the model sent upstream */
    long long max_tokens;    /* alias: default max_tokens (0 = upstream's) */
    int exact_model;         /* model is a name, not a glob (aliases) */
} route_t;

typedef struct relay_conf {
    char **listen; size_t nlisten;
    upstream_t **ups; size_t nups;
    route_t *routes; size_t nroutes;
    char *capture;           /* sink spec */
    char *spool_dir;         /* capture.spool_dir */
    int on_full_drop;        /* 0 block, 1 drop */
    size_t queue_max;
    size_t capture_max_body; /* what the capture keeps of a body */
    size_t max_event;        /* largest SSE event kept whole */
    size_t max_request_body; /* larger → 413 */
    long header_timeout_ms;  /* a request head must be complete by then */
    long body_grace_ms;      /* after which a body must arrive at body_min_rate */
    size_t body_min_rate;    /* bytes per second */
    size_t body_buffer;      /* larger bodies on routes that need no body are streamed */
    size_t out_buffer;       /* per-exchange client buffer (backpressure) */
    long drain_ms;
    long upstream_idle_ms;   /* nothing in flight this long: idle upstream connections closed */
    long long feedback_max_age_ms; /* ids accepted by age when spread over processes */
    int client_close_finish; /* on client hang-up: finish and capture */
    size_t conn_memory;      /* MHD per-connection pool */
    unsigned max_connections;
    unsigned per_ip_connections;
    long conn_timeout_s;
    int quiet;
    json_t *source;          /* the config document, for checking */
    int refs;                /* the relay and each exchange started on it hold one */
} relay_conf_t;

/* epoll registrations carry one of these */
enum watch_kind { W_MHD, W_CURL, W_SIGNAL, W_SINK, W_CLIENT };
typedef struct watch {
    enum watch_kind kind; int fd; void *ptr; uint32_t events;
    /* W_CURL: a connection socket (opened and closed through our callbacks)
     * stays registered between transfers; see upstream.c */
    unsigned char conn_sock, registered, active, dead;
    struct watch *next_dead;
} watch_t;

typedef struct hdr { char *name; char *value; size_t vlen; } hdr_t;

/* One client connection (MHD's socket context): the deadlines libmicrohttpd
 * does not keep (DESIGN.md: header deadline, body rate) and the soft limits. */
typedef struct conn {
    int fd;
    unsigned char ip[16]; int ipv6;
    int64_t t_head;          /* when the current request head began */
    int in_head;             /* waiting for a complete request head */
    int over_limit;          /* accepted past a soft limit: answer 503 */
    int closing;             /* shut down by a deadline */
    struct exchange *ex;     /* the request being read, if any */
    struct conn *next, *prev;
} conn_t;

enum ex_state { EX_NEW, EX_BODY, EX_UPSTREAM, EX_RESPONDING, EX_DONE };
enum outcome { OUT_OK, OUT_UPSTREAM_ERROR, OUT_TIMEOUT, OUT_CLIENT_CLOSED,
               OUT_ABORTED, OUT_RELAY_ERROR };

typedef struct exchange {
    struct relay *r;
    relay_conf_t *conf;      /* the configuration it started on (a reference) */
    struct MHD_Connection *conn;
    char id[ID_LEN];
    int64_t t0_wall, t0_mono;
    enum ex_state state;
    int internal;            /* /health, /metrics: not captured */
    char *uri;               /* raw request-target */
    char *method;
    int http10;              /* an HTTP/1.0 client: no chunked answers */
    hdr_t *qh; size_t nqh, qh_cap; /* request headers in order received */
    int protocol;            /* the client's dialect */
    buf_t body;              /* request body (bounded by max_request_body) */
    size_t body_seen;        /* bytes received, kept or not */
    int too_large;
    int streaming_body;      /* the body goes upstream as it arrives */
    int body_done;           /* the whole request body was read */
    int read_paused;         /* curl waits for body bytes */
    int body_suspended;      /* MHD suspended: body buffer full */
    long long request_cl;    /* Content-Length of the request, -1 none */
    const route_t *route;
    upstream_t *up;
    char *model; int stream;
    char *up_url;            /* full upstream URL */
    char *up_body; size_t up_body_len; /* body sent upstream if changed */
    int withhold_usage;      /* relay asked for usage: keep its chunk from the client */
    int so_added;            /* ... by adding a stream_options member the client did not send */
    int usage_probe;         /* a 400/422 to that: its head and body held until it is known why */
    buf_t probe;             /* the held body */
    int attempts;            /* upstream attempts made */
    /* upstream */
    CURL *easy;
    struct curl_slist *up_headers;
    char curl_err[CURL_ERROR_SIZE];
    int status;
    hdr_t *rh; size_t nrh, rh_cap; /* response headers */
    size_t req_head, up_head; /* request head size; bytes of the upstream's header lines so far */
    int up_head_over;         /* the upstream's head outgrew the room the connection has for it */
    int headers_done, curl_done, paused, want_unpause;
    CURLcode curl_rc;
    long long content_length; /* from upstream, -1 unknown */
    int is_sse, encoded, upstream_broke, stream_error;
    sse_t *sse;               /* capture splitter */
    buf_t piece;              /* non-SSE body piece being coalesced */
    buf_t usage_copy;         /* non-SSE body kept for usage (bounded) */
    struct decoder *dec;      /* Content-Encoding decoder, for usage of encoded bodies */
    uint64_t dec_in, dec_out; /* its bytes in and out */
    sse_t *zsse;              /* SSE splitter over decoded bytes */
    size_t captured_bytes; int capture_truncated;
    struct translate *tr;     /* protocol translation, when client and upstream differ */
    int tr_stream;            /* translating an SSE response event by event */
    int tr_whole;             /* translating a whole body at the end */
    int tr_status;            /* status for the client after translation */
    buf_t tr_body;            /* upstream body held for whole-body translation */
    int model_rewritten;
    /* client side */
    buf_t out;                /* bytes waiting for the client */
    int suspended, client_gone, client_fd_watched, client_fd;
    watch_t cw;               /* client hang-up watch (EPOLLRDHUP) */
    int activated;
    struct conn *conn_ctx;    /* the connection it came on, while that lives */
    /* relay-generated response */
    int relay_status; char *relay_body; const char *relay_retry_after;
    /* accounting */
    usage_t usage;
    int64_t ttfb_us, ttft_us, last_io_mono;
    uint64_t seq, bytes_out, bytes_up;
    uint64_t dropped;
    int ended;                /* end event written */
    int request_written;      /* request event written */
    int body_json;
    enum outcome outcome;
    char *errtext;            /* what went wrong, for the end event; NULL when nothing did */
    int mhd_done;
    char *client_request_id;
    struct exchange *next, *prev; /* active list */
} exchange_t;


struct sink;
struct config;
struct metrics;

typedef struct relay {
    relay_conf_t *conf;
    int epfd;
    struct MHD_Daemon **daemons; size_t ndaemons;
    watch_t *mhd_watch;
    CURLM *multi;
    int64_t curl_deadline_mono;   /* -1 none */
    struct sink *sink;
    watch_t sink_watch; int sink_watched; unsigned sink_gen;
    watch_t sig_watch;
    exchange_t *active;           /* exchanges that reached the upstream phase */
    size_t nactive;
    exchange_t **unpause; size_t nunpause, unpause_cap;
    int run_mhd;                  /* MHD_run needed this turn */
    int draining; int64_t drain_deadline_mono; int stop;
    int inetd;                    /* serving the one connection on fd 0 */
    int reload;                   /* SIGHUP seen: build the configuration again */
    int trim_pending; int64_t last_trim_mono;
    int busy;                     /* an exchange started since the last sweep */
    int64_t idle_since_mono;      /* nothing in flight since (0: busy) */
    int release_pending;          /* idle upstream connections to close once idle long enough */
    int64_t next_sweep_mono;
    struct metrics *m;
    CURL *idle_easy[256]; size_t nidle_easy;   /* reset handles for reuse */
    watch_t **csock; size_t csock_cap;         /* curl's connection sockets by fd */
    watch_t *dead_watches;                     /* freed after the turn that let them go */
    conn_t *conns; size_t nconns;
    struct ipcount *ipc; size_t ipc_cap;
    uint64_t closed_slow, refused_limit;
    struct idset *seen;           /* recent exchange ids, for feedback */
    int workers;                  /* > 1: exchanges are spread over processes */
    size_t conn_pool;             /* libmicrohttpd's per-connection pool, as started */
} relay_t;

/* conf.c */
relay_conf_t *conf_new_defaults(void);
int conf_apply_json(relay_conf_t *c, json_t *root, const struct config *cfg, char *err, size_t errlen);
int conf_finish(relay_conf_t *c, char *err, size_t errlen);
void conf_free(relay_conf_t *c);
relay_conf_t *conf_ref(relay_conf_t *c);
void conf_unref(relay_conf_t *c);
/* Builds the configuration again (SIGHUP); set by main, NULL elsewhere. */
extern relay_conf_t *(*relay_conf_loader)(char *err, size_t errlen);
upstream_t *conf_add_upstream(relay_conf_t *c, const char *name, const char *url);

/* route.c */
const route_t *route_pick(const relay_conf_t *c, int protocol, const char *path,
                          const char *model, const char **rest);
const route_t *route_pick_early(const relay_conf_t *c, int protocol, const char *path,
                                const char **rest);
char *route_upstream_url(const upstream_t *up, const char *rest, const char *query);

static inline int str_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* headers.c */
int hdr_push(hdr_t **v, size_t *n, size_t *cap, const char *name, size_t nlen,
             const char *value, size_t vlen);
void hdr_free_all(hdr_t *v, size_t n);
int hdr_set(hdr_t *h, const char *name, size_t nlen, const char *value, size_t vlen);
void hdr_free(hdr_t *h);      /* the name owns the value */
const char *hdr_get(const hdr_t *v, size_t n, const char *name);
int hdr_is_hop_by_hop(const char *name, const hdr_t *v, size_t n);

/* conn.c */
void conn_started(relay_t *r, conn_t *c, const struct sockaddr *sa);
void conn_closed(relay_t *r, conn_t *c);
void conn_head_done(conn_t *c, struct exchange *ex);
void conn_request_done(conn_t *c);
void conn_sweep(relay_t *r, int64_t now);
void conn_cleanup(relay_t *r);

/* server.c */
int server_start(relay_t *r, const int *fds, size_t nfds, char *err, size_t errlen);
void server_stop(relay_t *r);
void server_resume(exchange_t *ex);
size_t server_head_room(const exchange_t *ex);
void server_quiesce(relay_t *r);
int server_add_fd(relay_t *r, int fd, const struct sockaddr *sa, socklen_t len);

/* upstream.c */
int upstream_init(relay_t *r);
void upstream_cleanup(relay_t *r);
int upstream_idle_release(relay_t *r);
int upstream_start(exchange_t *ex, char *err, size_t errlen);
void upstream_cancel(exchange_t *ex);
void upstream_socket_event(relay_t *r, watch_t *w, uint32_t events);
void upstream_free_dead(relay_t *r);
void upstream_timeout(relay_t *r);
void upstream_poll_done(relay_t *r);
void upstream_request_unpause(exchange_t *ex);
void upstream_do_unpause(relay_t *r);
void upstream_forget(exchange_t *ex);

/* exchange.c */
exchange_t *ex_new(relay_t *r, const char *uri);
void ex_free(exchange_t *ex);
void ex_maybe_free(exchange_t *ex);
void ex_capture_request(exchange_t *ex);
int ex_stream_body(exchange_t *ex);
void ex_body_resume(exchange_t *ex);
void ex_on_headers(exchange_t *ex);
size_t ex_on_body(exchange_t *ex, const char *p, size_t n);
void ex_on_upstream_done(exchange_t *ex, CURLcode rc);
void ex_relay_error(exchange_t *ex, int status, const char *type, const char *msg);
void ex_finish(exchange_t *ex, enum outcome o, const char *err);
void ex_client_gone(exchange_t *ex);
void ex_activate(exchange_t *ex);
void ex_sweep(relay_t *r, int64_t now);
void ex_abort_all(relay_t *r);
int64_t ex_now_us(const exchange_t *ex);
const char *ex_outcome_name(enum outcome o);

/* feedback.c */
void feedback_seen(relay_t *r, const char *id);
int feedback_init(relay_t *r);
int feedback_handle(exchange_t *ex, char **out);
void feedback_cleanup(relay_t *r);
void ex_emit_event(exchange_t *ex, json_t *ev);

/* xlate.c */
int xlate_wanted(const exchange_t *ex, const char *rest);
int xlate_request(exchange_t *ex, const char **rest);
int xlate_headers(const exchange_t *ex, hdr_t **out, size_t *n);
void xlate_on_headers(exchange_t *ex);
void xlate_event(exchange_t *ex, const char *name, size_t nlen, const char *data, size_t dlen);
void xlate_done(exchange_t *ex, int upstream_ok);
void xlate_free(exchange_t *ex);
void ex_emit_client_chunk(exchange_t *ex, const char *p, size_t n);
void ex_relay_error_body(exchange_t *ex, int status, const char *body, const char *msg);

/* loop.c */
int loop_run(relay_t *r);
int loop_once(relay_t *r, int max_wait_ms);
int loop_add(relay_t *r, watch_t *w, uint32_t events);
int loop_mod(relay_t *r, watch_t *w, uint32_t events);
void loop_del(relay_t *r, watch_t *w);

/* metrics.c */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_request_done(struct metrics *m, const char *route, int status,
                          enum outcome o, uint64_t bytes_in, uint64_t bytes_out,
                          int stream, int64_t total_us);
char *metrics_render(relay_t *r, size_t *len);

/* modes.c */
int modes_listeners(const relay_conf_t *c, int **fds, size_t *nfds, char *err, size_t errlen);
int modes_serve(relay_conf_t *c, const int *fds, size_t nfds, int inetd, int worker);
int modes_supervise(relay_conf_t *c, const int *fds, size_t nfds, int workers);

/* sink.c */
struct sink *sink_open(const char *spec, size_t queue_max, int drop, char *err, size_t errlen);
/* spool_dir: where a unix: sink spools while llm-tee is away (NULL:
 * $STATE_DIRECTORY, else $TMPDIR, else /tmp) */
struct sink *sink_open_spool(const char *spec, size_t queue_max, int drop, const char *spool_dir,
                             char *err, size_t errlen);
unsigned sink_generation(const struct sink *s);
int sink_none(const struct sink *s);        /* --capture none: events are not even built */  /* changes when its fd is replaced */
void sink_close(struct sink *s);
int sink_put(struct sink *s, const char *line, size_t len); /* 0 queued, 1 dropped */
int sink_flush(struct sink *s);   /* -1 when the sink died */
int sink_fd(const struct sink *s);
int sink_pending(const struct sink *s);
int sink_blocked(const struct sink *s);
size_t sink_queued(const struct sink *s);
uint64_t sink_dropped(const struct sink *s);
uint64_t sink_events(const struct sink *s);
int sink_drain(struct sink *s, int timeout_ms);

extern const char *progname;
extern int relay_quiet;
void relay_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
