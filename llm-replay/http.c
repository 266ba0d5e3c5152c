/* http.c — the libcurl side shared by the replay loop and --fallback:
 * request headers as a curl list, the method and body on a handle, and
 * the response's header lines read back into [name, value] pairs. */
#include "replay.h"
#include "capture.h"
#include <stdlib.h>
#include <string.h>

struct curl_slist *http_header_list(const json_t *headers, const char *const *extra, size_t nextra)
{
    struct curl_slist *list = NULL, *s;
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *n = json_string_value(json_array_get(h, 0)), *v = json_string_value(json_array_get(h, 1));
        if (!n || !v) continue;
        size_t len = strlen(n) + strlen(v) + 3;
        char *line = malloc(len);
        if (!line) goto fail;
        /* "Name;" is curl's way to send a header with an empty value */
        if (*v) snprintf(line, len, "%s: %s", n, v);
        else snprintf(line, len, "%s;", n);
        s = curl_slist_append(list, line);
        free(line);
        if (!s) goto fail;
        list = s;
    }
    for (i = 0; i < nextra; i++) {
        if (!extra[i]) continue;
        if (!(s = curl_slist_append(list, extra[i]))) goto fail;
        list = s;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

void http_set_method(CURL *h, const char *method, const char *body, size_t len)
{
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
}

int http_header_line(const char *p, size_t n, int mask, int *status, json_t *headers, hdr_t *out)
{
    size_t len = n;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    memset(out, 0, sizeof *out);
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
        /* a new response (after a 100 Continue): start over */
        json_array_clear(headers);
        const char *sp = memchr(p, ' ', len);
        *status = sp ? atoi(sp + 1) : 0;
        return HDR_STATUS;
    }
    if (len == 0) return HDR_END;
    const char *colon = memchr(p, ':', len);
    if (!colon) return HDR_OTHER;
    out->name = p;
    out->nlen = (size_t)(colon - p);
    out->value = colon + 1;
    while (out->value < p + len && (*out->value == ' ' || *out->value == '\t')) out->value++;
    out->vlen = (size_t)(p + len - out->value);
    int rc = mask ? capture_add_header(headers, out->name, out->nlen, out->value, out->vlen)
                  : json_array_append_new(headers, json_pack("[s%,s%]", out->name, out->nlen, out->value, out->vlen));
    return rc ? -1 : HDR_FIELD;
}
