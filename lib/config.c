/* config.c — configuration files: YAML (or JSON) into jansson values.
 * libyaml's event parser drives a small recursive loader:
 *   mappings → objects, sequences → arrays, scalars → strings, or for
 *   untagged plain scalars null / true / false / integer / real when they
 *   look like one; ${VAR}, ${VAR:-default} and $$ are expanded first.
 *   Aliases are deep copies of their anchored node; "<<" merge keys
 *   (YAML 1.1) fill the keys a mapping does not set itself.
 * Every value made (other than the null/true/false singletons, which
 * jansson shares) is recorded with its line in a pointer-keyed hash table,
 * and every mapping and sequence also keeps the line of each key or item,
 * so callers can name file and line in their own errors. All values
 * recorded stay alive until config_free, so a pointer is never reused. */
#include "config.h"
#include "buf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 200          /* nesting of mappings and sequences */
#define MAX_NODES 1000000      /* values made, alias copies included */
#define MAX_FILE  (64 << 20)   /* largest config file read */

typedef struct {
    const json_t *v; /* NULL: empty slot */
    int line;
    json_t *sub;     /* lines of keys (object) or items (array); owned */
} ent_t;

struct config {
    char *name;
    json_t *root;
    json_t *hold;    /* values made but not in root (merge sources) */
    ent_t *tab;
    size_t tab_size, tab_used;
};

typedef struct {
    char *name;
    json_t *v;
} anchor_t;

typedef struct {
    config_t *c;
    yaml_parser_t parser;
    const char *text;
    size_t len;
    char *err;
    size_t errlen;
    anchor_t *anchors;
    size_t n_anchors, anchors_size;
    size_t nodes;
    int depth;
    int failed;
} loader_t;

/* ---- errors ---- */

static void errf(loader_t *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(loader_t *L, int line, const char *fmt, ...)
{
    if (L->failed)
        return; /* keep the first error */
    L->failed = 1;
    if (!L->err || L->errlen == 0)
        return;
    int n = line > 0 ? snprintf(L->err, L->errlen, "%s:%d: ", L->c->name, line)
                     : snprintf(L->err, L->errlen, "%s: ", L->c->name);
    if (n < 0 || (size_t)n >= L->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int line_of_offset(const loader_t *L, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < L->len; i++)
        line += L->text[i] == '\n';
    return line;
}

static void parser_error(loader_t *L)
{
    yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "YAML syntax error";
    if (p->error == YAML_READER_ERROR)
        errf(L, line_of_offset(L, p->problem_offset), "%s", problem);
    else if (p->error == YAML_MEMORY_ERROR)
        errf(L, 0, "out of memory");
    else if (p->context && p->context_mark.line != p->problem_mark.line)
        errf(L, (int)p->problem_mark.line + 1, "%s (%s at line %d)", problem,
             p->context, (int)p->context_mark.line + 1);
    else if (p->context)
        errf(L, (int)p->problem_mark.line + 1, "%s (%s)", problem, p->context);
    else
        errf(L, (int)p->problem_mark.line + 1, "%s", problem);
}

/* ---- the line table ---- */

static int is_singleton(const json_t *v)
{
    return json_is_null(v) || json_is_boolean(v);
}

static size_t hash_ptr(const void *p, size_t mask)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & mask;
}

static ent_t *find(const config_t *c, const json_t *v)
{
    if (!c || !c->tab || !v)
        return NULL;
    size_t mask = c->tab_size - 1;
    for (size_t i = hash_ptr(v, mask);; i = (i + 1) & mask) {
        if (c->tab[i].v == v)
            return &c->tab[i];
        if (!c->tab[i].v)
            return NULL;
    }
}

static int grow_table(config_t *c)
{
    size_t size = c->tab_size ? c->tab_size * 2 : 256;
    ent_t *t = calloc(size, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < c->tab_size; i++) {
        if (!c->tab[i].v)
            continue;
        size_t j = hash_ptr(c->tab[i].v, size - 1);
        while (t[j].v)
            j = (j + 1) & (size - 1);
        t[j] = c->tab[i];
    }
    free(c->tab);
    c->tab = t;
    c->tab_size = size;
    return 0;
}

/* Entry for v, made if new. NULL when out of memory. */
static ent_t *slot(config_t *c, const json_t *v)
{
    ent_t *e = find(c, v);
    if (e)
        return e;
    if ((c->tab_used + 1) * 2 > c->tab_size && grow_table(c) != 0)
        return NULL;
    size_t mask = c->tab_size - 1;
    size_t i = hash_ptr(v, mask);
    while (c->tab[i].v)
        i = (i + 1) & mask;
    c->tab[i].v = v;
    c->tab[i].line = 0;
    c->tab[i].sub = NULL;
    c->tab_used++;
    return &c->tab[i];
}

/* Record v's line (and take sub, the per-key/item lines, if given). */
static int record(loader_t *L, const json_t *v, int line, json_t *sub)
{
    if (is_singleton(v)) {
        json_decref(sub);
        return 0;
    }
    ent_t *e = slot(L->c, v);
    if (!e) {
        json_decref(sub);
        errf(L, line, "out of memory");
        return -1;
    }
    e->line = line;
    if (sub) {
        json_decref(e->sub);
        e->sub = sub;
    }
    return 0;
}

static int count_node(loader_t *L, int line)
{
    if (++L->nodes <= MAX_NODES)
        return 0;
    errf(L, line, "document too large (more than %d values after alias expansion)", MAX_NODES);
    return -1;
}

/* ---- ${VAR} interpolation ---- */

static int valid_var(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return 0;
    }
    return 1;
}

/* Expand one "${...}" whose inside is in[0..n). */
static int expand_var(loader_t *L, int line, const char *in, size_t n, buf_t *out)
{
    const char *dflt = NULL;
    size_t nlen = n;
    for (size_t i = 0; i + 1 < n; i++) {
        if (in[i] == ':' && in[i + 1] == '-') {
            dflt = in + i + 2;
            nlen = i;
            break;
        }
    }
    if (!valid_var(in, nlen)) {
        errf(L, line, "bad variable name in ${%.*s}", (int)n, in);
        return -1;
    }
    char name[256];
    if (nlen >= sizeof name) {
        errf(L, line, "variable name too long in ${...}");
        return -1;
    }
    memcpy(name, in, nlen);
    name[nlen] = '\0';
    const char *val = getenv(name);
    int rc;
    if (dflt && (!val || !*val))
        rc = buf_append(out, dflt, n - nlen - 2);
    else if (!val) {
        errf(L, line, "undefined environment variable %s", name);
        return -1;
    } else
        rc = buf_append_str(out, val);
    if (rc)
        errf(L, line, "out of memory");
    return rc;
}

/* Expand v[0..len) into out. */
static int interpolate(loader_t *L, int line, const char *v, size_t len, buf_t *out)
{
    size_t i = 0;
    while (i < len) {
        const char *dollar = memchr(v + i, '$', len - i);
        size_t lit = dollar ? (size_t)(dollar - (v + i)) : len - i;
        if (buf_append(out, v + i, lit)) {
            errf(L, line, "out of memory");
            return -1;
        }
        i += lit;
        if (i >= len)
            break;
        /* v[i] is '$' */
        if (i + 1 < len && v[i + 1] == '$') {
            if (buf_append(out, "$", 1))
                return errf(L, line, "out of memory"), -1;
            i += 2;
        } else if (i + 1 < len && v[i + 1] == '{') {
            const char *close = memchr(v + i + 2, '}', len - i - 2);
            if (!close) {
                errf(L, line, "unterminated ${ in value");
                return -1;
            }
            if (expand_var(L, line, v + i + 2, (size_t)(close - (v + i + 2)), out))
                return -1;
            i = (size_t)(close - v) + 1;
        } else {
            if (buf_append(out, "$", 1))
                return errf(L, line, "out of memory"), -1;
            i++;
        }
    }
    return 0;
}

/* ---- scalars ---- */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* [-+]? (d+ (. d*)? | . d+) ([eE] [-+]? d+)? with a '.' or an exponent. */
static int looks_real(const char *s)
{
    int digits = 0, dot = 0, exp = 0;
    if (*s == '-' || *s == '+')
        s++;
    for (; *s >= '0' && *s <= '9'; s++)
        digits++;
    if (*s == '.') {
        dot = 1;
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits++;
    }
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        exp = 1;
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0' && (dot || exp);
}

/* Type of an untagged plain scalar s (NUL-terminated, len bytes). */
static json_t *typed(const char *s, size_t len, int was_empty)
{
    if (strlen(s) != len)
        return json_stringn(s, len);
    if (was_empty || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
        strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
        return json_null();
    if (strcasecmp(s, "true") == 0)
        return json_true();
    if (strcasecmp(s, "false") == 0)
        return json_false();
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (all_digits(d)) {
        errno = 0;
        long long x = strtoll(s, NULL, 10);
        if (errno == 0)
            return json_integer(x);
        return json_stringn(s, len); /* out of range: leave to validation */
    }
    if (looks_real(s)) {
        double x = strtod(s, NULL);
        if (isfinite(x))
            return json_real(x);
    }
    return json_stringn(s, len);
}

static int want_types(const yaml_event_t *ev)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    if (!tag)
        return 1;
    return strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0 ||
           strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0;
}

static json_t *load_scalar(loader_t *L, const yaml_event_t *ev, int line)
{
    buf_t out;
    buf_init(&out, 0);
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (interpolate(L, line, v, len, &out) != 0) {
        buf_free(&out);
        return NULL;
    }
    json_t *j = want_types(ev) ? typed(buf_ptr(&out), buf_len(&out), len == 0)
                               : json_stringn(buf_ptr(&out), buf_len(&out));
    if (!j)
        errf(L, line, "value is not valid UTF-8");
    buf_free(&out);
    if (j && (count_node(L, line) || record(L, j, line, NULL))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- aliases ---- */

static json_t *copy_value(loader_t *L, const json_t *v, int line);

static json_t *copy_children(loader_t *L, const json_t *v, json_t *to, int line)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) {
            json_t *cm = copy_value(L, m, line);
            if (!cm || json_object_set_new(to, k, cm))
                return NULL;
        }
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            json_t *cm = copy_value(L, m, line);
            if (!cm || json_array_append_new(to, cm))
                return NULL;
        }
    }
    return to;
}

/* Deep copy of an anchored value, each copy keeping its source's lines. */
static json_t *copy_value(loader_t *L, const json_t *v, int line)
{
    if (count_node(L, line))
        return NULL;
    if (is_singleton(v))
        return (json_t *)v;
    ent_t *e = find(L->c, v);
    int vline = e ? e->line : 0;
    json_t *sub = e && e->sub ? json_deep_copy(e->sub) : NULL;
    json_t *c;
    if (json_is_object(v) || json_is_array(v)) {
        c = json_is_object(v) ? json_object() : json_array();
        if (c && !copy_children(L, v, c, line)) {
            json_decref(c);
            c = NULL;
        }
    } else {
        c = json_deep_copy(v);
    }
    if (!c) {
        json_decref(sub);
        errf(L, line, "out of memory");
        return NULL;
    }
    if (record(L, c, vline, sub)) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *load_alias(loader_t *L, const char *name, int line)
{
    for (size_t i = L->n_anchors; i-- > 0;)
        if (strcmp(L->anchors[i].name, name) == 0)
            return copy_value(L, L->anchors[i].v, line);
    errf(L, line, "unknown alias *%s", name);
    return NULL;
}

static int add_anchor(loader_t *L, const char *name, json_t *v, int line)
{
    if (L->n_anchors == L->anchors_size) {
        size_t n = L->anchors_size ? L->anchors_size * 2 : 16;
        anchor_t *a = realloc(L->anchors, n * sizeof *a);
        if (!a)
            return errf(L, line, "out of memory"), -1;
        L->anchors = a;
        L->anchors_size = n;
    }
    char *copy = strdup(name);
    if (!copy)
        return errf(L, line, "out of memory"), -1;
    L->anchors[L->n_anchors].name = copy;
    L->anchors[L->n_anchors].v = json_incref(v);
    L->n_anchors++;
    return 0;
}

/* ---- collections ---- */

static int next_event(loader_t *L, yaml_event_t *ev)
{
    if (yaml_parser_parse(&L->parser, ev))
        return 0;
    parser_error(L);
    return -1;
}

static json_t *load_node(loader_t *L, yaml_event_t *ev);

/* Keys of merge sources that obj lacks (first source wins). */
static int merge_one(loader_t *L, json_t *obj, json_t *lines, json_t *src, int line)
{
    if (!json_is_object(src)) {
        errf(L, line, "merge key << needs a mapping or a list of mappings");
        return -1;
    }
    ent_t *e = find(L->c, src);
    const char *k;
    json_t *m;
    json_object_foreach(src, k, m) {
        if (json_object_get(obj, k))
            continue;
        json_t *kl = e && e->sub ? json_object_get(e->sub, k) : NULL;
        if (json_object_set(obj, k, m) ||
            json_object_set_new(lines, k, json_integer(kl ? json_integer_value(kl) : line)))
            return errf(L, line, "out of memory"), -1;
    }
    return 0;
}

static int apply_merges(loader_t *L, json_t *obj, json_t *lines, json_t *merges)
{
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m) {
        json_t *src = json_array_get(m, 0);
        int line = (int)json_integer_value(json_array_get(m, 1));
        if (json_is_array(src)) {
            size_t j;
            json_t *s;
            json_array_foreach(src, j, s)
                if (merge_one(L, obj, lines, s, line))
                    return -1;
        } else if (merge_one(L, obj, lines, src, line)) {
            return -1;
        }
        if (json_array_append(L->c->hold, src))
            return errf(L, line, "out of memory"), -1;
    }
    return 0;
}

/* Read one key: a scalar event. *key is malloc'd. */
static int load_key(loader_t *L, yaml_event_t *ev, char **key, int *merge, int *line)
{
    *line = (int)ev->start_mark.line + 1;
    if (ev->type != YAML_SCALAR_EVENT) {
        errf(L, *line, "mapping keys must be scalars");
        return -1;
    }
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (strlen(v) != len) {
        errf(L, *line, "mapping key contains a NUL byte");
        return -1;
    }
    *merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(v, "<<") == 0;
    *key = strdup(v);
    if (!*key)
        return errf(L, *line, "out of memory"), -1;
    return 0;
}

/* One "key: value" pair of a mapping; 1 at the mapping's end. */
static int load_pair(loader_t *L, json_t *obj, json_t *lines, json_t *merges)
{
    yaml_event_t ev;
    if (next_event(L, &ev))
        return -1;
    if (ev.type == YAML_MAPPING_END_EVENT) {
        yaml_event_delete(&ev);
        return 1;
    }
    char *key = NULL;
    int merge = 0, kline;
    int rc = load_key(L, &ev, &key, &merge, &kline);
    yaml_event_delete(&ev);
    if (rc || next_event(L, &ev)) {
        free(key);
        return -1;
    }
    json_t *v = load_node(L, &ev);
    if (!v) {
        rc = -1;
    } else if (merge) {
        json_t *m = json_array();
        if (!m)
            json_decref(v);
        if (!m || json_array_append_new(m, v) ||
            json_array_append_new(m, json_integer(kline)) ||
            json_array_append_new(merges, m)) {
            errf(L, kline, "out of memory");
            rc = -1;
        }
    } else if (json_object_get(obj, key)) {
        errf(L, kline, "duplicate key \"%s\" (first on line %d)", key,
             (int)json_integer_value(json_object_get(lines, key)));
        json_decref(v);
        rc = -1;
    } else if (json_object_set_new(obj, key, v) ||
               json_object_set_new(lines, key, json_integer(kline))) {
        errf(L, kline, "out of memory");
        rc = -1;
    }
    free(key);
    return rc;
}

static json_t *load_mapping(loader_t *L, int line)
{
    json_t *obj = json_object(), *lines = json_object(), *merges = json_array();
    int rc = obj && lines && merges ? 0 : -1;
    if (rc)
        errf(L, line, "out of memory");
    while (rc == 0)
        rc = load_pair(L, obj, lines, merges);
    if (rc == 1)
        rc = apply_merges(L, obj, lines, merges);
    json_decref(merges);
    if (rc == 0 && record(L, obj, line, lines) == 0)
        return obj;
    if (rc)
        json_decref(lines);
    json_decref(obj);
    return NULL;
}

static json_t *load_sequence(loader_t *L, int line)
{
    json_t *arr = json_array(), *lines = json_array();
    if (!arr || !lines) {
        errf(L, line, "out of memory");
        goto fail;
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(L, &ev))
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        int iline = (int)ev.start_mark.line + 1;
        json_t *v = load_node(L, &ev);
        if (!v)
            goto fail;
        if (json_array_append_new(arr, v) ||
            json_array_append_new(lines, json_integer(iline))) {
            errf(L, iline, "out of memory");
            goto fail;
        }
    }
    if (record(L, arr, line, lines) == 0)
        return arr;
    json_decref(arr);
    return NULL;
fail:
    json_decref(lines);
    json_decref(arr);
    return NULL;
}

static json_t *load_collection(loader_t *L, int mapping, int line)
{
    if (++L->depth > MAX_DEPTH) {
        errf(L, line, "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    json_t *v = count_node(L, line) ? NULL
              : mapping ? load_mapping(L, line) : load_sequence(L, line);
    L->depth--;
    return v;
}

/* Build the node that starts with ev; deletes ev. */
static json_t *load_node(loader_t *L, yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    const yaml_char_t *anchor = NULL; /* owned by ev */
    json_t *v = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        v = load_alias(L, (const char *)ev->data.alias.anchor, line);
        break;
    case YAML_SCALAR_EVENT:
        v = load_scalar(L, ev, line);
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        break;
    default:
        errf(L, line, "unexpected YAML event");
        break;
    }
    int has_anchor = anchor != NULL;
    char *aname = has_anchor ? strdup((const char *)anchor) : NULL;
    int collection = ev->type == YAML_SEQUENCE_START_EVENT ||
                     ev->type == YAML_MAPPING_START_EVENT;
    int mapping = ev->type == YAML_MAPPING_START_EVENT;
    yaml_event_delete(ev);
    if (has_anchor && !aname) {
        errf(L, line, "out of memory");
        json_decref(v);
        return NULL;
    }
    if (collection)
        v = load_collection(L, mapping, line);
    if (v && aname && add_anchor(L, aname, v, line)) {
        json_decref(v);
        v = NULL;
    }
    free(aname);
    return v;
}

/* ---- documents ---- */

static int expect_event(loader_t *L, yaml_event_type_t type, yaml_event_t *ev)
{
    if (next_event(L, ev))
        return -1;
    if (ev->type == type)
        return 0;
    errf(L, (int)ev->start_mark.line + 1, "unexpected YAML structure");
    yaml_event_delete(ev);
    return -1;
}

/* The whole stream: one document (or none: an empty object). */
static json_t *load_stream(loader_t *L)
{
    yaml_event_t ev;
    if (expect_event(L, YAML_STREAM_START_EVENT, &ev))
        return NULL;
    yaml_event_delete(&ev);
    if (next_event(L, &ev))
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        json_t *o = json_object();
        if (!o || record(L, o, 1, json_object()))
            return json_decref(o), NULL;
        return o;
    }
    yaml_event_delete(&ev); /* DOCUMENT_START */
    if (next_event(L, &ev))
        return NULL;
    json_t *root = load_node(L, &ev);
    if (!root)
        return NULL;
    if (expect_event(L, YAML_DOCUMENT_END_EVENT, &ev))
        return json_decref(root), NULL;
    yaml_event_delete(&ev);
    if (next_event(L, &ev))
        return json_decref(root), NULL;
    if (ev.type != YAML_STREAM_END_EVENT) {
        errf(L, (int)ev.start_mark.line + 1, "more than one YAML document");
        yaml_event_delete(&ev);
        return json_decref(root), NULL;
    }
    yaml_event_delete(&ev);
    return root;
}

static void free_anchors(loader_t *L)
{
    for (size_t i = 0; i < L->n_anchors; i++) {
        free(L->anchors[i].name);
        json_decref(L->anchors[i].v);
    }
    free(L->anchors);
}

static config_t *load_text(const char *text, size_t len, const char *name,
                           char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    config_t *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name ? name : "<string>")) || !(c->hold = json_array())) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", name ? name : "<string>");
        config_free(c);
        return NULL;
    }
    loader_t L;
    memset(&L, 0, sizeof L);
    L.c = c;
    L.text = text;
    L.len = len;
    L.err = err;
    L.errlen = errlen;
    if (!yaml_parser_initialize(&L.parser)) {
        errf(&L, 0, "out of memory");
        config_free(c);
        return NULL;
    }
    yaml_parser_set_input_string(&L.parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&L.parser, YAML_UTF8_ENCODING);
    c->root = load_stream(&L);
    yaml_parser_delete(&L.parser);
    free_anchors(&L);
    if (!c->root) {
        if (!L.failed)
            errf(&L, 0, "cannot load configuration");
        config_free(c);
        return NULL;
    }
    return c;
}

config_t *config_load_string(const char *text, const char *name, char *err, size_t errlen)
{
    return load_text(text ? text : "", text ? strlen(text) : 0, name, err, errlen);
}

/* Whole file into memory (NUL-terminated); NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf_t b;
    buf_init(&b, MAX_FILE);
    char chunk[8192];
    size_t n;
    int bad = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(&b, chunk, n)) {
            bad = EFBIG;
            break;
        }
    }
    if (!bad && ferror(f))
        bad = errno ? errno : EIO;
    fclose(f);
    if (bad) {
        buf_free(&b);
        errno = bad;
        return NULL;
    }
    *len = buf_len(&b);
    if (!b.data) /* empty file */
        return strdup("");
    return b.data; /* off is 0: nothing was consumed */
}

config_t *config_load(const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    config_t *c = load_text(text, len, path, err, errlen);
    free(text);
    return c;
}

void config_free(config_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->tab_size; i++)
        json_decref(c->tab[i].sub);
    free(c->tab);
    json_decref(c->root);
    json_decref(c->hold);
    free(c->name);
    free(c);
}

json_t *config_root(const config_t *c) { return c ? c->root : NULL; }
const char *config_file(const config_t *c) { return c ? c->name : ""; }

int config_line(const config_t *c, const json_t *v)
{
    const ent_t *e = find(c, v);
    return e ? e->line : 0;
}

int config_key_line(const config_t *c, const json_t *obj, const char *key)
{
    const ent_t *e = find(c, obj);
    if (!e || !json_is_object(obj) || !key)
        return 0;
    const json_t *l = json_object_get(e->sub, key);
    return l ? (int)json_integer_value(l) : 0;
}

int config_index_line(const config_t *c, const json_t *arr, size_t i)
{
    const ent_t *e = find(c, arr);
    if (!e || !json_is_array(arr))
        return 0;
    const json_t *l = json_array_get(e->sub, i);
    return l ? (int)json_integer_value(l) : 0;
}

/* ---- sizes and durations ---- */

/* "d+" or "d+.d*" at *s: integer part, fraction digits (at most maxfrac
 * kept) and their count. -1 if no digits or the integer part overflows. */
static int decimal(const char **s, unsigned long long *ip, unsigned long long *frac,
                   int *nfrac, int maxfrac)
{
    const char *p = *s;
    *ip = *frac = 0;
    *nfrac = 0;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (*ip > (ULLONG_MAX - 9) / 10)
            return -1;
        *ip = *ip * 10 + (unsigned)(*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (*nfrac < maxfrac) {
                *frac = *frac * 10 + (unsigned)(*p - '0');
                (*nfrac)++;
            }
        }
    }
    *s = p;
    return 0;
}

/* ip + frac/10^nfrac, times unit, floored; -1 past LLONG_MAX. */
static long long scaled(unsigned long long ip, unsigned long long frac, int nfrac,
                        unsigned long long unit)
{
    if (ip > (unsigned long long)LLONG_MAX / unit)
        return -1;
    unsigned long long whole = ip * unit, pow10 = 1;
    for (int i = 0; i < nfrac; i++)
        pow10 *= 10;
    unsigned long long part = frac * unit / pow10; /* frac < 10^6, unit < 2^41 */
    if (whole > (unsigned long long)LLONG_MAX - part)
        return -1;
    return (long long)(whole + part);
}

static unsigned long long size_unit(const char *u)
{
    static const struct { const char *name; unsigned long long mult; } units[] = {
        {"", 1}, {"b", 1},
        {"k", 1ULL << 10}, {"kb", 1ULL << 10}, {"kib", 1ULL << 10},
        {"m", 1ULL << 20}, {"mb", 1ULL << 20}, {"mib", 1ULL << 20},
        {"g", 1ULL << 30}, {"gb", 1ULL << 30}, {"gib", 1ULL << 30},
        {"t", 1ULL << 40}, {"tb", 1ULL << 40}, {"tib", 1ULL << 40},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(u, units[i].name) == 0)
            return units[i].mult;
    return 0;
}

long long config_size_str(const char *s)
{
    if (!s)
        return -1;
    unsigned long long ip, frac;
    int nfrac;
    if (decimal(&s, &ip, &frac, &nfrac, 6))
        return -1;
    while (*s == ' ')
        s++;
    unsigned long long mult = size_unit(s);
    if (mult == 0 || (mult == 1 && nfrac > 0 && frac > 0))
        return -1;
    return scaled(ip, frac, nfrac, mult);
}

long long config_parse_size(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 0 ? (long long)json_integer_value(v) : -1;
    return json_is_string(v) ? config_size_str(json_string_value(v)) : -1;
}

static unsigned long long duration_unit(const char **s)
{
    static const struct { const char *name; unsigned long long ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*s, units[i].name, n) == 0) {
            *s += n;
            return units[i].ms;
        }
    }
    return 0;
}

/* "1h30m", "250ms", "1.5s", or a bare number of seconds. */
long long config_duration_ms_str(const char *s)
{
    if (!s)
        return -1;
    long long total = 0;
    int groups = 0;
    while (*s) {
        unsigned long long ip, frac;
        int nfrac;
        if (decimal(&s, &ip, &frac, &nfrac, 6))
            return -1;
        while (*s == ' ')
            s++;
        unsigned long long unit = duration_unit(&s);
        if (unit == 0) {
            if (*s || groups) /* a bare number must be the whole string */
                return -1;
            unit = 1000;
        }
        long long ms = scaled(ip, frac, nfrac, unit);
        if (ms < 0 || total > LLONG_MAX - ms)
            return -1;
        total += ms;
        groups++;
    }
    return groups ? total : -1;
}

long long config_parse_duration_ms(const json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        return x >= 0 && x <= LLONG_MAX / 1000 ? (long long)x * 1000 : -1;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v) * 1000.0;
        return isfinite(x) && x >= 0 && x < 9.2e18 ? llround(x) : -1;
    }
    if (json_is_string(v))
        return config_duration_ms_str(json_string_value(v));
    return -1;
}
