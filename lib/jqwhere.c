/* jqwhere.c — a jq filter over JSON rows (see jqwhere.h): jq_init and
 * jq_compile once, then jq_start and jq_next on each row. */
#include "jqwhere.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>

struct jqwhere {
    jq_state *jq;
    const char *label;       /* "" for none */
    const char *sep;         /* ": " after a label, else "" */
    char msg[256];           /* the last message of jq's error callback */
};

static void on_error(void *data, jv msg)
{
    struct jqwhere *w = data;
    if (jv_get_kind(msg) == JV_KIND_STRING)
        snprintf(w->msg, sizeof w->msg, "%s", jv_string_value(msg));
    else if (!w->msg[0])
        snprintf(w->msg, sizeof w->msg, "jq error");
    jv_free(msg);
}

jqwhere_t *jqwhere_compile(const char *prog, const char *label, char *err, size_t errlen)
{
    jqwhere_t *w = calloc(1, sizeof *w);
    if (!w || !(w->jq = jq_init())) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->label = label ? label : "";
    w->sep = label ? ": " : "";
    jq_set_error_cb(w->jq, on_error, w);
    if (!jq_compile(w->jq, prog)) {
        snprintf(err, errlen, "%s%s%s", w->label, w->sep, w->msg[0] ? w->msg : "does not compile");
        jqwhere_free(w);
        return NULL;
    }
    return w;
}

void jqwhere_free(jqwhere_t *w)
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

int jqwhere_test(jqwhere_t *w, const json_t *row, char *err, size_t errlen)
{
    if (!row) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->msg[0] = 0;
    jq_start(w->jq, to_jv(row), 0);
    jv r = jq_next(w->jq);
    int pass;
    if (jv_is_valid(r)) {
        jv_kind k = jv_get_kind(r);
        pass = k != JV_KIND_FALSE && k != JV_KIND_NULL;
    } else if (jv_invalid_has_msg(jv_copy(r))) {
        jv m = jv_invalid_get_msg(jv_copy(r));
        snprintf(err, errlen, "%s%s%s", w->label, w->sep,
                 jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "jq error");
        jv_free(m);
        pass = -1;
    } else {
        pass = 0;                    /* no output (empty) */
    }
    jv_free(r);
    return pass;
}

int jqwhere_test_new(jqwhere_t *w, json_t *row, char *err, size_t errlen)
{
    int pass = jqwhere_test(w, row, err, errlen);
    json_decref(row);
    return pass;
}
