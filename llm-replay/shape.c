/* shape.c — the shape of a JSON value: what a client's parser would see
 * change when a new model or provider answers. Objects give their keys in
 * sorted order with the shapes of their values, arrays the distinct shapes
 * of their elements; scalars their type (integers and reals are both
 * numbers). {"a":[1,2],"b":null} → {a:[n],b:null}. */
#include "replay.h"
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put(buf_t *b, const char *s) { return buf_append_str(b, s); }

static int shape_into(const json_t *j, buf_t *b, int depth)
{
    if (depth > 64) return put(b, "…");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(j), k = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys) return -1;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v) keys[k++] = key;
        qsort(keys, n, sizeof *keys, cmp_str);
        int rc = put(b, "{");
        for (k = 0; k < n && !rc; k++) {
            rc = (k ? put(b, ",") : 0) || put(b, keys[k]) || put(b, ":") ||
                 shape_into(json_object_get(j, keys[k]), b, depth + 1);
        }
        free(keys);
        return rc || put(b, "}");
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j), k = 0;
        char **shapes = malloc((n ? n : 1) * sizeof *shapes);
        if (!shapes) return -1;
        int rc = 0;
        for (k = 0; k < n && !rc; k++) {
            buf_t e;
            buf_init(&e, 0);
            rc = shape_into(json_array_get(j, k), &e, depth + 1);
            shapes[k] = rc ? NULL : strdup(buf_ptr(&e));
            if (!shapes[k]) rc = -1;
            buf_free(&e);
        }
        size_t made = k;
        if (!rc) {
            qsort(shapes, n, sizeof *shapes, cmp_str);
            rc = put(b, "[");
            for (k = 0; k < n && !rc; k++)
                if (k == 0 || strcmp(shapes[k], shapes[k - 1]))
                    rc = (k ? put(b, "|") : 0) || put(b, shapes[k]);
            rc = rc || put(b, "]");
        }
        for (k = 0; k < made; k++) free(shapes[k]);
        free(shapes);
        return rc;
    }
    case JSON_STRING: return put(b, "s");
    case JSON_INTEGER:
    case JSON_REAL: return put(b, "n");
    case JSON_TRUE:
    case JSON_FALSE: return put(b, "b");
    default: return put(b, "null");
    }
}

char *shape_of(const json_t *j)
{
    if (!j) return strdup("empty");
    buf_t b;
    buf_init(&b, 0);
    char *s = shape_into(j, &b, 0) ? NULL : strdup(buf_ptr(&b));
    buf_free(&b);
    return s;
}
