/* dpo.c — preference pairs from feedback. Feedback events (relay's POST
 * /v1/feedback) name an exchange by its id and may carry a rating and
 * preferred_over (the id of the exchange the user liked less). Pairs:
 *   explicit  A preferred over B;
 *   ratings   among exchanges with the same normalised prompt (convo.c's
 *             hash), the best-rated one (ties: the smallest id) is
 *             preferred over each one rated lower.
 * Both exchanges must have been exported (complete and successful unless
 * --include-incomplete, through every filter), with the same prompt and
 * different answers. Only the exchanges feedback names are kept in memory. */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dpo {
    json_t *feedback;   /* {id: [events]} (borrowed) */
    json_t *wants;      /* {id: true} */
    json_t *cands;      /* {id: {input, answer, prompt, answer_hash, rating?}} */
};

dpo_t *dpo_new(const json_t *feedback)
{
    dpo_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->feedback = (json_t *)feedback;
    d->wants = json_object();
    d->cands = json_object();
    const char *id;
    json_t *list;
    json_object_foreach((json_t *)feedback, id, list) {
        size_t i;
        json_t *f;
        json_array_foreach(list, i, f) {
            const char *other = json_string_value(json_object_get(f, "preferred_over"));
            if (json_is_number(json_object_get(f, "rating")) || other)
                json_object_set_new(d->wants, id, json_true());
            if (other)
                json_object_set_new(d->wants, other, json_true());
        }
    }
    return d;
}

int dpo_wants(const dpo_t *d, const char *id) { return json_object_get(d->wants, id) != NULL; }

int dpo_add(dpo_t *d, const char *id, const convo_t *c)
{
    char ph[65], ah[65];
    hex32(c->prompt_hash, ph);
    hex32(c->answer_hash, ah);
    json_t *e = json_pack("{s:O, s:O, s:s, s:s}", "input", c->input, "answer", c->answer,
                          "prompt", ph, "answer_hash", ah);
    double r;
    if (e && feedback_rating(json_object_get(d->feedback, id), &r))
        json_object_set_new(e, "rating", json_real(r));
    return e ? json_object_set_new(d->cands, id, e) : -1;
}

static int by_pair(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int c = strcmp(json_string_value(json_array_get(a, 0)), json_string_value(json_array_get(b, 0)));
    return c ? c : strcmp(json_string_value(json_array_get(a, 1)), json_string_value(json_array_get(b, 1)));
}

static void add_pair(json_t *pairs, const char *a, const char *b)
{
    if (strcmp(a, b))
        json_array_append_new(pairs, json_pack("[s, s]", a, b));
}

/* The rating pairs of one prompt group (ids of rated candidates). */
static void group_pairs(const dpo_t *d, const json_t *ids, json_t *pairs)
{
    const char *best = NULL;
    double br = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);
        double r = json_real_value(json_object_get(json_object_get(d->cands, id), "rating"));
        if (!best || r > br || (r == br && strcmp(id, best) < 0)) {
            best = id;
            br = r;
        }
    }
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);
        if (json_real_value(json_object_get(json_object_get(d->cands, id), "rating")) < br)
            add_pair(pairs, best, id);
    }
}

int dpo_pairs(dpo_t *d, dpo_cb cb, void *arg, uint64_t *skipped)
{
    json_t *pairs = json_array(), *groups = json_object();
    const char *id;
    json_t *x;
    json_object_foreach(d->feedback, id, x) {
        size_t i;
        json_t *f;
        json_array_foreach(x, i, f) {
            const char *other = json_string_value(json_object_get(f, "preferred_over"));
            if (other)
                add_pair(pairs, id, other);
        }
    }
    json_object_foreach(d->cands, id, x) {
        if (!json_object_get(x, "rating"))
            continue;
        const char *ph = json_string_value(json_object_get(x, "prompt"));
        json_t *g = json_object_get(groups, ph);
        if (!g)
            json_object_set_new(groups, ph, g = json_array());
        json_array_append_new(g, json_string(id));
    }
    json_object_foreach(groups, id, x)
        if (json_array_size(x) > 1)
            group_pairs(d, x, pairs);
    /* a stable order, each pair once */
    size_t n = json_array_size(pairs);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    int rc = v ? 0 : -1;
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_array_get(pairs, i);
    if (v)
        qsort(v, n, sizeof *v, by_pair);
    for (size_t i = 0; !rc && i < n; i++) {
        if (i && !by_pair(&v[i - 1], &v[i]))
            continue;
        const char *a = json_string_value(json_array_get(v[i], 0));
        const char *b = json_string_value(json_array_get(v[i], 1));
        const json_t *ca = json_object_get(d->cands, a), *cb_ = json_object_get(d->cands, b);
        if (!ca || !cb_)
            skipped[SK_PAIR_MISSING]++;
        else if (strcmp(json_string_value(json_object_get(ca, "prompt")),
                        json_string_value(json_object_get(cb_, "prompt"))))
            skipped[SK_PAIR_PROMPT]++;
        else if (!strcmp(json_string_value(json_object_get(ca, "answer_hash")),
                         json_string_value(json_object_get(cb_, "answer_hash"))))
            skipped[SK_PAIR_SAME]++;
        else {
            char key[128];
            snprintf(key, sizeof key, "%s %s", a, b);
            rc = cb(arg, json_object_get(ca, "input"), json_object_get(ca, "answer"),
                    json_object_get(cb_, "answer"), key);
        }
    }
    free(v);
    json_decref(pairs);
    json_decref(groups);
    return rc;
}

void dpo_free(dpo_t *d)
{
    if (!d)
        return;
    json_decref(d->wants);
    json_decref(d->cands);
    free(d);
}
