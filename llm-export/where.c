/* where.c — --where 'JQ': a jq program compiled once (jq_init,
 * jq_compile), run over each exchanges row (row.c) with jq_start and
 * jq_next; the exchange passes when the first output is neither false nor
 * null (no output: it does not pass). */
#include "export.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct where {
    jq_state *jq;
    char msg[256];
};

static void on_error(void *data, jv msg)
{
    struct where *w = data;
    if (jv_get_kind(msg) == JV_KIND_STRING)
        snprintf(w->msg, sizeof w->msg, "%s", jv_string_value(msg));
    else if (!w->msg[0])
        snprintf(w->msg, sizeof w->msg, "jq error");
    jv_free(msg);
}

where_t *where_compile(const char *prog, char *err, size_t errlen)
{
    where_t *w = calloc(1, sizeof *w);
    if (!w || !(w->jq = jq_init())) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    jq_set_error_cb(w->jq, on_error, w);
    if (!jq_compile(w->jq, prog)) {
        snprintf(err, errlen, "--where: %s", w->msg[0] ? w->msg : "does not compile");
        where_free(w);
        return NULL;
    }
    return w;
}

void where_free(where_t *w)
{
    if (!w)
        return;
    jq_teardown(&w->jq);
    free(w);
}

/* jansson → jv */
static jv to_jv(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        jv o = jv_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
            o = jv_object_set(o, jv_string(k), to_jv(v));
        return o;
    }
    case JSON_ARRAY: {
        jv a = jv_array();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
            a = jv_array_append(a, to_jv(v));
        return a;
    }
    case JSON_STRING:
        return jv_string_sized(json_string_value(j), (int)json_string_length(j));
    case JSON_INTEGER:
        return jv_number((double)json_integer_value(j));
    case JSON_REAL:
        return jv_number(json_real_value(j));
    case JSON_TRUE:
        return jv_true();
    case JSON_FALSE:
        return jv_false();
    default:
        return jv_null();
    }
}

int where_test(where_t *w, const json_t *row, char *err, size_t errlen)
{
    w->msg[0] = 0;
    jq_start(w->jq, to_jv(row), 0);
    jv r = jq_next(w->jq);
    int pass;
    if (jv_is_valid(r)) {
        jv_kind k = jv_get_kind(r);
        pass = k != JV_KIND_FALSE && k != JV_KIND_NULL;
    } else if (jv_invalid_has_msg(jv_copy(r))) {
        jv m = jv_invalid_get_msg(jv_copy(r));
        snprintf(err, errlen, "--where: %s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "jq error");
        jv_free(m);
        pass = -1;
    } else
        pass = 0;
    jv_free(r);
    return pass;
}
