/* fuzz_translate.c — libFuzzer target over lib/translate/: both request
 * translators, both whole-response translators (any status) and both
 * stream translators (bytes split into SSE events by lib/sse.c, then
 * finished cleanly or broken off). The first byte picks the mode and the
 * split; the rest is the input. Build and run (bounded):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     test/fuzz/fuzz_translate.c lib/translate/\*.c lib/buf.c lib/sse.c \
 *     -ljansson -o build/fuzz_translate
 *   build/fuzz_translate -max_total_time=30 test/fixtures/translate */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sse.h"
#include "translate/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct { translate_t *t; buf_t *out; } feed_t;

static int on_event(void *arg, const sse_event_t *ev)
{
    feed_t *f = arg;
    if (ev->has_data)
        translate_stream_event(f->t, ev->name, ev->name_len, ev->data, ev->data_len, f->out);
    buf_reset(f->out);   /* keep memory flat over long inputs */
    return 0;
}

static void prime(translate_t *t, int client, int stream)
{
    static const char *const req[2][2] = {
        { "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
          "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}" },
        { "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}",
          "{\"model\":\"m\",\"max_tokens\":5,\"stream\":true,\"messages\":[]}" },
    };
    const char *r = req[client][stream];
    char *out = NULL;
    size_t n;
    translate_error_t e;
    if (translate_request(t, r, strlen(r), &out, &n, &e) == 0)
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 6, split = 1 + data[0] / 6;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    int client = (mode & 1) ? TR_ANTHROPIC : TR_OPENAI;
    translate_opts_t o = { .created = 1, .default_max_tokens = 1000 };
    translate_t *t = translate_new(client, client == TR_OPENAI ? TR_ANTHROPIC : TR_OPENAI, &o);
    if (!t)
        return 0;
    buf_t out;
    buf_init(&out, 1 << 20);
    if (mode < 2) {                       /* requests */
        char *body = NULL;
        size_t len;
        translate_error_t e;
        if (translate_request(t, p, n, &body, &len, &e) == 0) {
            if (strlen(body) != len)
                abort();
            free(body);
        } else if (translate_error_body(client, &e, &out) != 0) {
            abort();
        }
    } else if (mode < 4) {                /* whole responses, status from the split */
        int st;
        translate_error_t e;
        prime(t, client, 0);
        translate_response(t, split % 2 ? 200 : 400 + (int)split, p, n, &out, &st, &e);
    } else {                              /* streams */
        prime(t, client, 1);
        feed_t f = { t, &out };
        sse_t *s = sse_new(4096, on_event, &f);
        if (s) {
            for (size_t i = 0; i < n; i += split)
                sse_feed(s, p + i, n - i < split ? n - i : split);
            sse_finish(s);
            sse_free(s);
        }
        translate_stream_finish(t, split % 2, &out);
        if (!translate_stream_done(t) && buf_room(&out) > 4096)
            abort();                      /* finish always ends the client's stream */
    }
    buf_free(&out);
    translate_free(t);
    return 0;
}
