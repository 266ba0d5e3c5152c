/* figures.c — the figures of one group: requests, errors by kind, streams,
 * tokens, cost, latency and speed histograms, retries. */
#include "stats.h"
#include <string.h>

const char *const err_names[ERR_N] = {
    "upstream_4xx", "upstream_5xx", "upstream_other", "timeout",
    "client_closed", "relay", "aborted", "other",
};

void figures_init(figures_t *f)
{
    memset(f, 0, sizeof *f);
    histo_init(&f->ttfb);
    histo_init(&f->ttft);
    histo_init(&f->total);
    histo_init(&f->tps);
}

void figures_free(figures_t *f)
{
    histo_free(&f->ttfb);
    histo_free(&f->ttft);
    histo_free(&f->total);
    histo_free(&f->tps);
}

int err_kind(const char *outcome, int status)
{
    if (!outcome || !strcmp(outcome, "ok")) return -1;
    if (!strcmp(outcome, "upstream_error"))
        return status >= 500 ? ERR_5XX : status >= 400 ? ERR_4XX : ERR_UPOTHER;
    if (!strcmp(outcome, "timeout")) return ERR_TIMEOUT;
    if (!strcmp(outcome, "client_closed")) return ERR_CLOSED;
    if (!strcmp(outcome, "relay_error")) return ERR_RELAY;
    if (!strcmp(outcome, "aborted")) return ERR_ABORTED;
    return ERR_OTHER;
}

static int64_t nz(int64_t v) { return v > 0 ? v : 0; }

void exch_tokens(const exch_t *e, int64_t *in, int64_t *out, int64_t *cached, int64_t *cache_write)
{
    *cached = nz(e->cached);
    *cache_write = nz(e->cache_write);
    *out = nz(e->out);
    *in = nz(e->in);
    /* Anthropic's input_tokens leaves out the cache reads and writes */
    if (e->usage_protocol && !strcmp(e->usage_protocol, "anthropic")) *in += *cached + *cache_write;
}

uint64_t figures_errors(const figures_t *f)
{
    uint64_t n = 0;
    for (int k = 0; k < ERR_N; k++) n += f->errors[k];
    return n;
}

int figures_add(figures_t *f, const exch_t *e, const price_t *price)
{
    int64_t in, out, cached, cw;
    exch_tokens(e, &in, &out, &cached, &cw);
    int k = err_kind(e->outcome, e->status);
    f->requests++;
    if (e->stream) f->streams++;
    if (e->attempts > 1) f->retries++;
    if (k >= 0) f->errors[k]++;
    f->tok_in += (uint64_t)in;
    f->tok_out += (uint64_t)out;
    f->tok_cached += (uint64_t)cached;
    f->tok_cache_write += (uint64_t)cw;
    if (price) {
        f->priced++;
        int64_t plain = in - cached - cw;
        if (plain < 0) plain = 0;
        f->cost += ((double)plain * price->input + (double)cached * price->cached +
                    (double)cw * (price->cache_write >= 0 ? price->cache_write : price->input) +
                    (double)out * price->output) / 1e6;
    } else {
        f->unpriced++;
        f->unpriced_tokens += (uint64_t)(in + out);
    }
    if (k >= 0) return 0;           /* latency and speed: successful exchanges */
    if ((e->ttfb_us >= 0 && histo_add(&f->ttfb, (double)e->ttfb_us)) ||
        (e->ttft_us >= 0 && histo_add(&f->ttft, (double)e->ttft_us)) ||
        (e->total_us >= 0 && histo_add(&f->total, (double)e->total_us)))
        return -1;
    if (out > 0 && e->total_us > 0) {
        /* generation time: from the first token when it is known */
        int64_t t = e->total_us;
        if (e->ttft_us > 0 && e->ttft_us < e->total_us) t -= e->ttft_us;
        if (histo_add(&f->tps, (double)out * 1e6 / (double)t)) return -1;
    }
    return 0;
}

int figures_merge(figures_t *d, const figures_t *s)
{
    d->requests += s->requests;
    d->streams += s->streams;
    d->retries += s->retries;
    d->incomplete += s->incomplete;
    d->priced += s->priced;
    d->unpriced += s->unpriced;
    d->unpriced_tokens += s->unpriced_tokens;
    for (int k = 0; k < ERR_N; k++) d->errors[k] += s->errors[k];
    d->tok_in += s->tok_in;
    d->tok_out += s->tok_out;
    d->tok_cached += s->tok_cached;
    d->tok_cache_write += s->tok_cache_write;
    d->cost += s->cost;
    if (histo_merge(&d->ttfb, &s->ttfb) || histo_merge(&d->ttft, &s->ttft) ||
        histo_merge(&d->total, &s->total) || histo_merge(&d->tps, &s->tps))
        return -1;
    return 0;
}
