/* compare.c — the recorded answer against the replayed one, as one diff
 * record (a JSON object, one line of llm-replay's output): status, shape,
 * text (exact, and a similarity), tool calls (names and arguments as
 * JSON), finish reason, usage, time to first token and total time; which
 * differ, and which --fail-on thresholds they cross. */
#include "replay.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *num_or_null(int64_t v) { return v >= 0 ? json_integer(v) : json_null(); }
static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static json_t *usage_json(const usage_t *u)
{
    return u->seen ? usage_to_json(u) : json_null();
}

static double round4(double v) { return round(v * 10000) / 10000; }

/* {recorded, replayed, delta, ratio} of one time */
static json_t *time_pair(int64_t rec, int64_t rep, int64_t *delta, double *ratio)
{
    *delta = INT64_MIN;
    *ratio = -1;
    json_t *o = json_pack("{s:o, s:o}", "recorded", num_or_null(rec), "replayed", num_or_null(rep));
    if (rec >= 0 && rep >= 0) {
        *delta = rep - rec;
        json_object_set_new(o, "delta", json_integer(*delta));
        if (rec > 0) {
            *ratio = (double)rep / (double)rec;
            json_object_set_new(o, "ratio", json_real(round4(*ratio)));
        }
    }
    return o;
}

static void add_kind(json_t *arr, const char *name)
{
    json_array_append_new(arr, json_string(name));
}

/* the members every record starts with */
static json_t *record_head(const char *id, const json_t *request)
{
    /* result, differences and crossed are set last; named here so that
     * they come first in the line */
    return json_pack("{s:s, s:n, s:[], s:[], s:o, s:o, s:o, s:b}", "id", id, "result",
                     "differences", "crossed",
                     "method", str_or_null(jstr(request, "method")),
                     "uri", str_or_null(jstr(request, "uri")),
                     "model", str_or_null(jstr(request, "model")),
                     "stream", json_is_true(json_object_get(request, "stream")));
}

json_t *skipped_record(const char *id, const json_t *request, const char *why)
{
    json_t *r = record_head(id, request);
    if (r) {
        json_object_set_new(r, "result", json_string("skipped"));
        json_object_set_new(r, "reason", json_string(why));
        json_object_del(r, "differences");
        json_object_del(r, "crossed");
    }
    return r;
}

json_t *compare(const char *id, const json_t *request, const char *sent_model,
                const view_t *rec, const view_t *rep, const failon_t *f, outcome_t *o)
{
    memset(o, 0, sizeof *o);
    o->similarity = o->ratio_total = o->ratio_ttft = o->ratio_out = -1;
    o->d_total_us = o->d_ttft_us = o->d_in = o->d_out = INT64_MIN;
    json_t *r = record_head(id, request);
    json_t *diffs = json_array(), *crossed = json_array();
    if (!r || !diffs || !crossed) goto oom;
    if (sent_model) json_object_set_new(r, "model_sent", json_string(sent_model));
    json_object_set_new(r, "status", json_pack("{s:i, s:o}", "recorded", rec->status,
                                               "replayed", rep->status ? json_integer(rep->status) : json_null()));
    if (!rep->status) {
        o->diffs = 1u << D_ERROR;
        add_kind(diffs, diff_names[D_ERROR]);
        json_object_set_new(r, "result", json_string("error"));
        json_object_set_new(r, "error", json_string(rep->error ? rep->error : "no answer"));
        json_object_set_new(r, "differences", diffs);
        json_object_set_new(r, "crossed", crossed);
        return r;
    }
    if (rec->status != rep->status) o->diffs |= 1u << D_STATUS;

    /* shape: the structure of the response, and streamed or not */
    int shape_eq = !strcmp(rec->shape, rep->shape) && rec->streamed == rep->streamed;
    json_t *shape = json_pack("{s:b}", "equal", shape_eq);
    if (!shape_eq) {
        o->diffs |= 1u << D_SHAPE;
        json_object_set_new(shape, "recorded", json_pack("{s:s, s:b}", "shape", rec->shape, "streamed", rec->streamed));
        json_object_set_new(shape, "replayed", json_pack("{s:s, s:b}", "shape", rep->shape, "streamed", rep->streamed));
    }
    json_object_set_new(r, "shape", shape);

    /* text, when either side is a response with text */
    if (rec->assembled || rep->assembled) {
        const char *a = rec->text ? rec->text : "", *b = rep->text ? rep->text : "";
        size_t al = rec->text ? rec->text_len : 0, bl = rep->text ? rep->text_len : 0;
        int eq = al == bl && !memcmp(a, b, al);
        o->similarity = eq ? 1.0 : text_similarity(a, al, b, bl);
        json_t *t = json_pack("{s:b, s:f}", "equal", eq, "similarity", round4(o->similarity));
        if (!eq) {
            o->diffs |= 1u << D_TEXT;
            json_object_set_new(t, "recorded", json_stringn(a, al));
            json_object_set_new(t, "replayed", json_stringn(b, bl));
        }
        json_object_set_new(r, "text", t);
    } else {
        json_object_set_new(r, "text", json_null());
    }

    int tools_eq = json_equal(rec->tools, rep->tools);
    json_t *tools = json_pack("{s:b}", "equal", tools_eq);
    if (!tools_eq) {
        o->diffs |= 1u << D_TOOLS;
        json_object_set(tools, "recorded", rec->tools);
        json_object_set(tools, "replayed", rep->tools);
    } else if (json_array_size(rec->tools)) {
        json_object_set(tools, "calls", rec->tools);
    }
    json_object_set_new(r, "tools", tools);

    if (!same_str(rec->finish, rep->finish)) o->diffs |= 1u << D_FINISH;
    json_object_set_new(r, "finish_reason", json_pack("{s:o, s:o}", "recorded", str_or_null(rec->finish),
                                                      "replayed", str_or_null(rep->finish)));

    /* usage: a difference when one side saw it and the other did not, or
     * when the token counts differ */
    json_t *usage = json_pack("{s:o, s:o}", "recorded", usage_json(&rec->usage), "replayed", usage_json(&rep->usage));
    if (rec->usage.seen != rep->usage.seen) o->diffs |= 1u << D_USAGE;
    if (rec->usage.seen && rep->usage.seen) {
        const usage_t *a = &rec->usage, *b = &rep->usage;
        json_t *d = json_object();
        if (a->input_tokens >= 0 && b->input_tokens >= 0) {
            o->d_in = b->input_tokens - a->input_tokens;
            json_object_set_new(d, "input_tokens", json_integer(o->d_in));
        }
        if (a->output_tokens >= 0 && b->output_tokens >= 0) {
            o->d_out = b->output_tokens - a->output_tokens;
            json_object_set_new(d, "output_tokens", json_integer(o->d_out));
            if (a->output_tokens > 0) o->ratio_out = (double)b->output_tokens / (double)a->output_tokens;
        }
        if ((o->d_in != INT64_MIN && o->d_in) || (o->d_out != INT64_MIN && o->d_out) ||
            (a->input_tokens < 0) != (b->input_tokens < 0) || (a->output_tokens < 0) != (b->output_tokens < 0))
            o->diffs |= 1u << D_USAGE;
        json_object_set_new(usage, "delta", d);
    }
    json_object_set_new(r, "usage", usage);

    json_object_set_new(r, "latency", json_pack("{s:o, s:o}",
        "ttft_us", time_pair(rec->ttft_us, rep->ttft_us, &o->d_ttft_us, &o->ratio_ttft),
        "total_us", time_pair(rec->total_us, rep->total_us, &o->d_total_us, &o->ratio_total)));

    for (int k = 0; k < D_N; k++)
        if (o->diffs & (1u << k)) add_kind(diffs, diff_names[k]);
    o->crossed = o->diffs & f->kinds;
    if (f->text_min >= 0 && o->similarity >= 0 && o->similarity < f->text_min && !(f->kinds & (1u << D_TEXT)))
        o->crossed |= 1u << X_TEXT;
    if (f->latency_x > 0 && o->ratio_total > f->latency_x) o->crossed |= 1u << X_LATENCY;
    if (f->ttft_x > 0 && o->ratio_ttft > f->ttft_x) o->crossed |= 1u << X_TTFT;
    if (f->tokens_x > 0 && o->ratio_out > f->tokens_x) o->crossed |= 1u << X_TOKENS;
    for (int k = 0; k < X_N; k++)
        if (o->crossed & (1u << k)) {
            char name[64];
            failon_name(f, k, name, sizeof name);
            add_kind(crossed, name);
        }

    json_object_set_new(r, "result", json_string(o->diffs ? "different" : "same"));
    json_object_set_new(r, "differences", diffs);
    json_object_set_new(r, "crossed", crossed);
    return r;
oom:
    json_decref(r);
    json_decref(diffs);
    json_decref(crossed);
    return NULL;
}
