/* prices.c — the price table: built in (llm-stats/prices.yaml, embedded in
 * the program by the assembler) or a file (--prices), YAML or JSON, read
 * with config.h so that errors name file and line. */
#include "stats.h"
#include "config.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

/* the table as shipped; the path is relative to the top of the tree, where
 * make runs the compiler */
__asm__(".section .rodata\n"
        ".global prices_builtin\n"
        "prices_builtin:\n"
        ".incbin \"llm-stats/prices.yaml\"\n"
        ".byte 0\n"
        ".previous\n");

static int price_field(const config_t *c, json_t *m, const char *model, const char *k,
                       double *out, int required, char *err, size_t errlen)
{
    json_t *v = json_object_get(m, k);
    if (!v) {
        if (!required) { *out = -1; return 0; }
        snprintf(err, errlen, "%s:%d: models.%s.%s: missing", config_file(c), config_line(c, m), model, k);
        return -1;
    }
    if (!json_is_number(v) || json_number_value(v) < 0 || !isfinite(json_number_value(v))) {
        snprintf(err, errlen, "%s:%d: models.%s.%s: must be a number, 0 or more (USD per 1M tokens)",
                 config_file(c), config_key_line(c, m, k), model, k);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static int load(prices_t *p, config_t *c, char *err, size_t errlen)
{
    json_t *root = config_root(c), *models = json_object_get(root, "models"), *v;
    const char *k;
    json_object_foreach(root, k, v)
        if (strcmp(k, "taken") && strcmp(k, "currency") && strcmp(k, "models")) {
            snprintf(err, errlen, "%s:%d: %s: unknown key", config_file(c), config_key_line(c, root, k), k);
            return -1;
        }
    json_t *taken = json_object_get(root, "taken"), *cur = json_object_get(root, "currency");
    if (!json_is_string(taken) || json_string_length(taken) >= sizeof p->taken) {
        snprintf(err, errlen, "%s:%d: taken: the date the prices were taken (a string) is required",
                 config_file(c), taken ? config_key_line(c, root, "taken") : 1);
        return -1;
    }
    strcpy(p->taken, json_string_value(taken));
    if (cur && !(json_is_string(cur) && !strcmp(json_string_value(cur), "USD"))) {
        snprintf(err, errlen, "%s:%d: currency: only USD is supported", config_file(c), config_key_line(c, root, "currency"));
        return -1;
    }
    if (!json_is_object(models)) {
        snprintf(err, errlen, "%s:%d: models: a mapping of model names is required", config_file(c),
                 models ? config_key_line(c, root, "models") : 1);
        return -1;
    }
    p->v = calloc(json_object_size(models) + 1, sizeof *p->v);
    if (!p->v) { snprintf(err, errlen, "out of memory"); return -1; }
    json_object_foreach(models, k, v) {
        price_t *e = &p->v[p->n];
        if (!json_is_object(v) || strlen(k) >= sizeof e->model) {
            snprintf(err, errlen, "%s:%d: models.%s: must be a mapping {input, output, cached}",
                     config_file(c), config_key_line(c, models, k), k);
            return -1;
        }
        const char *f;
        json_t *x;
        json_object_foreach(v, f, x)
            if (strcmp(f, "input") && strcmp(f, "output") && strcmp(f, "cached") && strcmp(f, "cache_write")) {
                snprintf(err, errlen, "%s:%d: models.%s.%s: unknown key", config_file(c), config_key_line(c, v, f), k, f);
                return -1;
            }
        strcpy(e->model, k);
        if (price_field(c, v, k, "input", &e->input, 1, err, errlen) ||
            price_field(c, v, k, "output", &e->output, 1, err, errlen) ||
            price_field(c, v, k, "cached", &e->cached, 0, err, errlen) ||
            price_field(c, v, k, "cache_write", &e->cache_write, 0, err, errlen))
            return -1;
        if (e->cached < 0) e->cached = e->input;
        p->n++;
    }
    return 0;
}

int prices_load(prices_t *p, const char *file, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    config_t *c = file ? config_load(file, err, errlen)
                       : config_load_string(prices_builtin, "prices.yaml (built-in)", err, errlen);
    if (!c) return -1;
    snprintf(p->source, sizeof p->source, "%s", file ? file : "built-in");
    int rc = load(p, c, err, errlen);
    config_free(c);
    if (rc) prices_free(p);
    return rc;
}

void prices_free(prices_t *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

static const price_t *exact(const prices_t *p, const char *m, size_t n)
{
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->v[i].model) == n && !memcmp(p->v[i].model, m, n)) return &p->v[i];
    return NULL;
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* length of m without a date suffix or -latest; n when there is none */
static size_t base_len(const char *m, size_t n)
{
    if (n > 11 && m[n - 11] == '-' && digits(m + n - 10, 4) && m[n - 6] == '-' &&
        digits(m + n - 5, 2) && m[n - 3] == '-' && digits(m + n - 2, 2))
        return n - 11;                                  /* -YYYY-MM-DD */
    if (n > 9 && m[n - 9] == '-' && digits(m + n - 8, 8)) return n - 9;   /* -YYYYMMDD */
    if (n > 7 && !memcmp(m + n - 7, "-latest", 7)) return n - 7;
    return n;
}

const price_t *prices_find(prices_t *p, const char *model)
{
    if (!model) return NULL;
    if (model == p->last_model) return p->last;
    size_t n = strlen(model);
    const price_t *r = exact(p, model, n);
    if (!r) {
        size_t b = base_len(model, n);
        if (b < n) r = exact(p, model, b);
    }
    p->last_model = model;     /* interned: the pointer names the model */
    p->last = r;
    return r;
}
