/* crypt.c — secretstream sessions for capture files at rest (see crypt.h). */
#include "crypt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "err.h"

#define SS_HDR crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_PUSH crypto_secretstream_xchacha20poly1305_TAG_PUSH
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define MAX_KEYS 64

struct crypt_keys {
    size_t n;
    unsigned char key[MAX_KEYS][CRYPT_KEYBYTES];
    unsigned char id[MAX_KEYS][8];
};

static int sodium_ready(void)
{
    static int done;
    if (!done) done = sodium_init() >= 0 ? 1 : -1;
    return done > 0 ? 0 : -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void key_id(const unsigned char *key, unsigned char id[8])
{
    unsigned char out[16];
    static const unsigned char personal[16] = "pllm-key-id";
    crypto_generichash_blake2b_salt_personal(out, sizeof out, NULL, 0, key, CRYPT_KEYBYTES, NULL, personal);
    memcpy(id, out, 8);
}

crypt_keys_t *crypt_keys_load(const char *path, char *err, size_t errlen)
{
    if (sodium_ready() < 0) { snprintf(err, errlen, "%s: libsodium failed to start", path); return NULL; }
    FILE *f = fopen(path, "re");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    crypt_keys_t *k = sodium_malloc(sizeof *k);
    if (!k) { fclose(f); snprintf(err, errlen, "%s: out of memory", path); return NULL; }
    k->n = 0;
    char line[256];
    int lineno = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t len = strcspn(s, "\r\n");
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        if (len == 0 || *s == '#') continue;
        if (len != 2 * CRYPT_KEYBYTES) { bad = 1; break; }
        if (k->n == MAX_KEYS) { snprintf(err, errlen, "%s:%d: more than %d keys", path, lineno, MAX_KEYS); goto fail; }
        for (size_t i = 0; i < CRYPT_KEYBYTES; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0) { bad = 1; break; }
            k->key[k->n][i] = (unsigned char)(hi << 4 | lo);
        }
        if (bad) break;
        key_id(k->key[k->n], k->id[k->n]);
        k->n++;
    }
    sodium_memzero(line, sizeof line);
    if (bad) { snprintf(err, errlen, "%s:%d: a key is 64 hex digits (openssl rand -hex 32)", path, lineno); goto fail; }
    if (ferror(f)) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); goto fail; }
    if (k->n == 0) { snprintf(err, errlen, "%s: no key in the file", path); goto fail; }
    fclose(f);
    return k;
fail:
    fclose(f);
    sodium_free(k);
    return NULL;
}

void crypt_keys_free(crypt_keys_t *k) { if (k) sodium_free(k); }
size_t crypt_keys_count(const crypt_keys_t *k) { return k->n; }

static void hex8(const unsigned char id[8], char out[17])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) { out[2 * i] = hx[id[i] >> 4]; out[2 * i + 1] = hx[id[i] & 15]; }
    out[16] = '\0';
}

void crypt_key_id_hex(const crypt_keys_t *k, size_t i, char out[17]) { hex8(k->id[i], out); }

int crypt_is_encrypted(const void *p, size_t n)
{
    return n >= CRYPT_MAGIC_LEN && memcmp(p, CRYPT_MAGIC, CRYPT_MAGIC_LEN) == 0;
}

static void put64(unsigned char *p, uint64_t v) { for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; } }
static uint64_t get64(const unsigned char *p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }
static void put32(unsigned char *p, uint32_t v) { p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v; }
static uint32_t get32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* ---- writer ---- */

struct crypt_writer {
    const crypt_keys_t *k;
    crypto_secretstream_xchacha20poly1305_state st;
    int active;
};

crypt_writer_t *crypt_writer_new(const crypt_keys_t *k)
{
    if (sodium_ready() < 0) return NULL;
    crypt_writer_t *w = sodium_malloc(sizeof *w);
    if (!w) return NULL;
    w->k = k; w->active = 0;
    return w;
}

void crypt_writer_free(crypt_writer_t *w) { if (w) sodium_free(w); }
int crypt_in_session(const crypt_writer_t *w) { return w->active; }

size_t crypt_overhead(size_t n)
{
    size_t records = n / CRYPT_RECORD_MAX + (n % CRYPT_RECORD_MAX ? 1 : 0);
    if (records == 0) records = 1;
    return records * (4 + CRYPT_ABYTES);
}

/* Append one record: length, ciphertext. */
static int push_record(crypt_writer_t *w, const void *p, size_t n, const unsigned char *ad, size_t adlen,
                       unsigned char tag, buf_t *out)
{
    size_t clen = n + CRYPT_ABYTES;
    if (buf_room(out) < 4 + clen) return -1;
    unsigned char len[4];
    put32(len, (uint32_t)clen);
    if (buf_append(out, len, 4) < 0) return -1;
    /* make room, then encrypt in place at the end of out */
    size_t at = buf_len(out);
    static const char zeros[256];
    for (size_t left = clen; left > 0;) {
        size_t k = left < sizeof zeros ? left : sizeof zeros;
        if (buf_append(out, zeros, k) < 0) { out->len = at - 4; return -1; }
        left -= k;
    }
    unsigned char *c = (unsigned char *)out->data + out->off + at;
    crypto_secretstream_xchacha20poly1305_push(&w->st, c, NULL, p, n, ad, adlen, tag);
    return 0;
}

int crypt_begin(crypt_writer_t *w, uint64_t off, int flags, buf_t *out)
{
    if (w->active) return -1;
    unsigned char hdr[CRYPT_HDR_LEN] = { 0 };
    memcpy(hdr, CRYPT_MAGIC, CRYPT_MAGIC_LEN);
    hdr[8] = 1;
    hdr[9] = (unsigned char)flags;
    memcpy(hdr + 16, w->k->id[0], 8);
    crypto_secretstream_xchacha20poly1305_init_push(&w->st, hdr + 24, w->k->key[0]);
    put64(hdr + 48, off);
    size_t at = buf_len(out);
    if (buf_append(out, hdr, sizeof hdr) < 0) return -1;
    if (push_record(w, NULL, 0, hdr, sizeof hdr, TAG_MESSAGE, out) < 0) { buf_cut(out, at); return -1; }
    w->active = 1;
    return 0;
}

int crypt_write(crypt_writer_t *w, const void *p, size_t n, buf_t *out)
{
    if (!w->active) return -1;
    if (buf_room(out) < n + crypt_overhead(n)) return -1;
    const char *s = p;
    do {
        size_t k = n > CRYPT_RECORD_MAX ? CRYPT_RECORD_MAX : n;
        if (push_record(w, s, k, NULL, 0, k == n ? TAG_PUSH : TAG_MESSAGE, out) < 0) return -1;
        s += k; n -= k;
    } while (n > 0);
    return 0;
}

int crypt_end(crypt_writer_t *w, buf_t *out)
{
    if (!w->active) return -1;
    if (push_record(w, NULL, 0, NULL, 0, TAG_FINAL, out) < 0) return -1;
    w->active = 0;
    sodium_memzero(&w->st, sizeof w->st);
    return 0;
}

/* ---- reader ---- */

struct crypt_reader {
    const crypt_keys_t *k;
    crypto_secretstream_xchacha20poly1305_state st;
    unsigned char hdr[CRYPT_HDR_LEN];
    int in_session;       /* a header was read, no FINAL yet */
    int need_first;       /* the header-authenticating record comes next */
    int batch_ended;      /* the last record closed a batch (PUSH/FINAL) */
    uint64_t off;         /* bytes consumed */
    uint64_t plain;       /* plaintext bytes produced */
    uint64_t good_off, good_plain;
    int good_open;
    char err[ERRBUF_SIZE];
};

crypt_reader_t *crypt_reader_new(const crypt_keys_t *k)
{
    if (sodium_ready() < 0) return NULL;
    crypt_reader_t *r = sodium_malloc(sizeof *r);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    r->k = k;
    r->batch_ended = 1;
    return r;
}

void crypt_reader_free(crypt_reader_t *r) { if (r) sodium_free(r); }
const char *crypt_reader_error(const crypt_reader_t *r) { return r->err; }
uint64_t crypt_reader_good_offset(const crypt_reader_t *r) { return r->good_off; }
uint64_t crypt_reader_good_plain(const crypt_reader_t *r) { return r->good_plain; }
int crypt_reader_open_session(const crypt_reader_t *r) { return r->good_open; }
uint64_t crypt_reader_offset(const crypt_reader_t *r) { return r->off; }

static ssize_t fail(crypt_reader_t *r, const char *what)
{
    snprintf(r->err, sizeof r->err, "%s at byte %llu", what, (unsigned long long)r->off);
    return -1;
}

static int read_header(crypt_reader_t *r, const unsigned char *h)
{
    if (memcmp(h, CRYPT_MAGIC, CRYPT_MAGIC_LEN) != 0) return (int)fail(r, "not an encrypted session header (damaged or tampered file)");
    if (h[8] != 1) return (int)fail(r, "unknown encryption format version");
    if (r->in_session) {
        if (!(h[9] & CRYPT_FLAG_RECOVERED) || !r->batch_ended)
            return (int)fail(r, "an encrypted session ends without its final record (cut or tampered)");
    }
    if (get64(h + 48) != r->off) return (int)fail(r, "an encrypted session is out of place (data removed or moved)");
    size_t i;
    for (i = 0; i < r->k->n; i++) if (memcmp(r->k->id[i], h + 16, 8) == 0) break;
    if (i == r->k->n) {
        char id[17];
        hex8(h + 16, id);
        char what[64];
        snprintf(what, sizeof what, "key id %s is not in the key file", id);
        return (int)fail(r, what);
    }
    if (crypto_secretstream_xchacha20poly1305_init_pull(&r->st, h + 24, r->k->key[i]) != 0)
        return (int)fail(r, "bad encryption header");
    memcpy(r->hdr, h, CRYPT_HDR_LEN);
    r->in_session = 1;
    r->need_first = 1;
    r->batch_ended = 0;
    return 0;
}

ssize_t crypt_reader_feed(crypt_reader_t *r, const char *in, size_t n, buf_t *out, size_t max_out)
{
    size_t used = 0, produced = 0;
    const unsigned char *u = (const unsigned char *)in;
    while (used < n && (!max_out || produced < max_out)) {
        size_t left = n - used;
        int header = !r->in_session || (u[used] & 0x80);
        if (header) {
            if (left < CRYPT_HDR_LEN) break;
            if (read_header(r, u + used) < 0) return -1;
            used += CRYPT_HDR_LEN; r->off += CRYPT_HDR_LEN;
            continue;
        }
        if (left < 4) break;
        uint32_t clen = get32(u + used);
        if (clen < CRYPT_ABYTES || clen > CRYPT_RECORD_MAX + CRYPT_ABYTES)
            return fail(r, "bad encrypted record length (damaged or tampered file)");
        if (left < 4 + (size_t)clen) break;
        size_t plen = clen - CRYPT_ABYTES;
        if (buf_room(out) < plen) { if (used == 0) return fail(r, "output buffer too small"); break; }
        size_t at = buf_len(out);
        /* reserve plen bytes at the end of out */
        if (plen) {
            if (buf_append(out, in + used + 4, plen) < 0) return fail(r, "out of memory");
        }
        unsigned char tag = 0;
        unsigned char *m = plen ? (unsigned char *)out->data + out->off + at : NULL;
        unsigned char dummy[1];
        int rc = crypto_secretstream_xchacha20poly1305_pull(&r->st, m ? m : dummy, NULL, &tag,
                     u + used + 4, clen, r->need_first ? r->hdr : NULL, r->need_first ? CRYPT_HDR_LEN : 0);
        if (rc != 0) { buf_cut(out, at); return fail(r, "authentication failed (damaged or tampered file, or wrong key)"); }
        if (r->need_first) {
            if (plen != 0 || tag != TAG_MESSAGE) { buf_cut(out, at); return fail(r, "bad first record of a session"); }
            r->need_first = 0;
        }
        used += 4 + clen; r->off += 4 + clen;
        r->plain += plen; produced += plen;
        if (tag == TAG_FINAL) {
            r->in_session = 0; r->batch_ended = 1;
            r->good_off = r->off; r->good_plain = r->plain; r->good_open = 0;
        } else if (tag == TAG_PUSH) {
            r->batch_ended = 1;
            r->good_off = r->off; r->good_plain = r->plain; r->good_open = 1;
        } else if (tag == TAG_MESSAGE) {
            r->batch_ended = plen == 0 && r->batch_ended; /* the empty first record keeps it */
            if (plen == 0 && r->off - 4 - clen == get64(r->hdr + 48) + CRYPT_HDR_LEN) {
                /* a session with no data yet is a good place to cut too */
                r->batch_ended = 1;
                r->good_off = r->off; r->good_plain = r->plain; r->good_open = 1;
            }
        } else {
            return fail(r, "unexpected record tag");
        }
    }
    return (ssize_t)used;
}

int crypt_reader_finish(crypt_reader_t *r, size_t left)
{
    if (left > 0) {
        snprintf(r->err, sizeof r->err, "truncated: %zu bytes of a torn encrypted record or header at byte %llu",
                 left, (unsigned long long)r->off);
        return -1;
    }
    if (r->in_session) {
        snprintf(r->err, sizeof r->err, "truncated: the encrypted session at byte %llu has no final record",
                 (unsigned long long)get64(r->hdr + 48));
        return 1;
    }
    return 0;
}
