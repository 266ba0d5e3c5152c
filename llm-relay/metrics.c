/* metrics.c — Prometheus text exposition for /metrics: requests by route
 * and status, outcomes, active exchanges, bytes, stream durations, and the
 * capture queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relay.h"

#define MAX_SERIES 512
static const double dur_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };
#define NB (sizeof dur_buckets / sizeof *dur_buckets)

struct series { char route[64]; int status; uint64_t n; };

struct metrics {
    struct series s[MAX_SERIES]; size_t ns;
    uint64_t outcomes[6];
    uint64_t bytes_in, bytes_out;
    uint64_t hist[2][NB + 1]; double hsum[2]; uint64_t hcount[2]; /* [0] non-stream, [1] stream */
};

struct metrics *metrics_new(void) { return calloc(1, sizeof(struct metrics)); }
void metrics_free(struct metrics *m) { free(m); }

void metrics_request_done(struct metrics *m, const char *route, int status, enum outcome o,
                          uint64_t bytes_in, uint64_t bytes_out, int stream, int64_t total_us)
{
    if (!m) return;
    size_t i;
    for (i = 0; i < m->ns; i++)
        if (m->s[i].status == status && !strncmp(m->s[i].route, route, sizeof m->s[i].route - 1)) break;
    if (i == m->ns && m->ns < MAX_SERIES) {
        snprintf(m->s[i].route, sizeof m->s[i].route, "%s", route);
        m->s[i].status = status;
        m->ns++;
    }
    if (i < m->ns) m->s[i].n++;
    m->outcomes[o]++;
    m->bytes_in += bytes_in;
    m->bytes_out += bytes_out;
    double sec = (double)total_us / 1e6;
    int k = stream ? 1 : 0;
    size_t b = 0;
    while (b < NB && sec > dur_buckets[b]) b++;
    m->hist[k][b]++;
    m->hsum[k] += sec;
    m->hcount[k]++;
}

static void label_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') { fputs("\\n", f); continue; }
        fputc(*s, f);
    }
}

char *metrics_render(relay_t *r, size_t *len)
{
    struct metrics *m = r->m;
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (!f) return NULL;
    fputs("# HELP llm_relay_requests_total Exchanges finished, by route and status sent to the client.\n"
          "# TYPE llm_relay_requests_total counter\n", f);
    for (size_t i = 0; i < m->ns; i++) {
        fputs("llm_relay_requests_total{route=\"", f);
        label_escape(f, m->s[i].route);
        fprintf(f, "\",status=\"%d\"} %llu\n", m->s[i].status, (unsigned long long)m->s[i].n);
    }
    fputs("# HELP llm_relay_outcomes_total Exchanges finished, by outcome.\n"
          "# TYPE llm_relay_outcomes_total counter\n", f);
    for (int o = 0; o < 6; o++)
        fprintf(f, "llm_relay_outcomes_total{outcome=\"%s\"} %llu\n", ex_outcome_name((enum outcome)o),
                (unsigned long long)m->outcomes[o]);
    fprintf(f, "# HELP llm_relay_upstream_errors_total Exchanges that ended in an upstream error or timeout.\n"
               "# TYPE llm_relay_upstream_errors_total counter\n"
               "llm_relay_upstream_errors_total %llu\n",
            (unsigned long long)(m->outcomes[OUT_UPSTREAM_ERROR] + m->outcomes[OUT_TIMEOUT]));
    fprintf(f, "# HELP llm_relay_active_requests Exchanges in flight.\n"
               "# TYPE llm_relay_active_requests gauge\nllm_relay_active_requests %zu\n", r->nactive);
    fprintf(f, "# HELP llm_relay_request_bytes_total Request body bytes received from clients.\n"
               "# TYPE llm_relay_request_bytes_total counter\nllm_relay_request_bytes_total %llu\n",
            (unsigned long long)m->bytes_in);
    fprintf(f, "# HELP llm_relay_response_bytes_total Response body bytes sent to clients.\n"
               "# TYPE llm_relay_response_bytes_total counter\nllm_relay_response_bytes_total %llu\n",
            (unsigned long long)m->bytes_out);
    fputs("# HELP llm_relay_duration_seconds Exchange duration from request to end.\n"
          "# TYPE llm_relay_duration_seconds histogram\n", f);
    for (int k = 0; k < 2; k++) {
        uint64_t cum = 0;
        const char *st = k ? "true" : "false";
        for (size_t b = 0; b < NB; b++) {
            cum += m->hist[k][b];
            fprintf(f, "llm_relay_duration_seconds_bucket{stream=\"%s\",le=\"%g\"} %llu\n", st, dur_buckets[b], (unsigned long long)cum);
        }
        cum += m->hist[k][NB];
        fprintf(f, "llm_relay_duration_seconds_bucket{stream=\"%s\",le=\"+Inf\"} %llu\n", st, (unsigned long long)cum);
        fprintf(f, "llm_relay_duration_seconds_sum{stream=\"%s\"} %.6f\n", st, m->hsum[k]);
        fprintf(f, "llm_relay_duration_seconds_count{stream=\"%s\"} %llu\n", st, (unsigned long long)m->hcount[k]);
    }
    fprintf(f, "# HELP llm_relay_capture_queue_bytes Capture bytes waiting for the sink.\n"
               "# TYPE llm_relay_capture_queue_bytes gauge\nllm_relay_capture_queue_bytes %zu\n",
            sink_queued(r->sink));
    fprintf(f, "# HELP llm_relay_capture_events_total Capture events produced.\n"
               "# TYPE llm_relay_capture_events_total counter\nllm_relay_capture_events_total %llu\n",
            (unsigned long long)sink_events(r->sink));
    fprintf(f, "# HELP llm_relay_capture_dropped_total Capture events dropped (drop policy or dead sink).\n"
               "# TYPE llm_relay_capture_dropped_total counter\nllm_relay_capture_dropped_total %llu\n",
            (unsigned long long)sink_dropped(r->sink));
    if (fclose(f) != 0) { free(out); return NULL; }
    return out;
}
