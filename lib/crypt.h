/* crypt.h — encryption at rest for capture files (llm-tee --encrypt-key):
 * libsodium's secretstream (XChaCha20-Poly1305) in sessions.
 *
 * A file is a sequence of sessions; llm-tee starts one each time it opens
 * the file and ends it when it closes the file. A session is
 *   header   64 bytes: magic "\x93PLLMENC", version 1, flags (bit 0:
 *            "the previous session was cut by a crash and repaired"),
 *            6 zero bytes, the key id (8 bytes), the secretstream header
 *            (24 bytes), the file offset of this header (u64 big-endian),
 *            8 zero bytes;
 *   records  each a u32 big-endian ciphertext length (top bit clear)
 *            and the ciphertext of at most CRYPT_RECORD_MAX plaintext bytes.
 *            The first record is empty and authenticates the header (as
 *            additional data); the last record of each write batch has
 *            the tag PUSH (a batch is whole lines); the last record of the
 *            session has the tag FINAL.
 * The plaintext of a file is the concatenation of its sessions' records.
 * Tampering (any changed byte), reordering or removal of sessions (offset
 * check), and a cut inside a session (no FINAL) are all detected. A session
 * without FINAL is legitimate only while llm-tee has the file open (it
 * holds flock(LOCK_EX) on it), or when the next session says it repaired
 * it.
 *
 * A key file holds one or more keys, one per line as 64 hex digits (blank
 * lines and lines starting with '#' are ignored). The first key encrypts;
 * every key decrypts (chosen by the key id in each session header), so old
 * files stay readable after a key rotation. The key id is the first 8 bytes
 * of BLAKE2b(key, personal "pllm-key-id"). */
#ifndef PLLM_CRYPT_H
#define PLLM_CRYPT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"

#define CRYPT_KEYBYTES    32
#define CRYPT_HDR_LEN     64
#define CRYPT_MAGIC       "\x93PLLMENC"
#define CRYPT_MAGIC_LEN   8
#define CRYPT_RECORD_MAX  (1u << 20)
#define CRYPT_ABYTES      17
#define CRYPT_FLAG_RECOVERED 1

typedef struct crypt_keys crypt_keys_t;

/* Load a key file. NULL and "PATH: reason" (or "PATH:LINE: reason") in err. */
crypt_keys_t *crypt_keys_load(const char *path, char *err, size_t errlen);
void crypt_keys_free(crypt_keys_t *k);
size_t crypt_keys_count(const crypt_keys_t *k);
/* Hex id (16 digits + NUL) of key i (0 = the encrypting key). */
void crypt_key_id_hex(const crypt_keys_t *k, size_t i, char out[17]);
/* 1 if p[0..n) starts with the session magic. */
int crypt_is_encrypted(const void *p, size_t n);

/* Writer: output is appended to out (which the caller writes to the file). */
typedef struct crypt_writer crypt_writer_t;
crypt_writer_t *crypt_writer_new(const crypt_keys_t *k);
void crypt_writer_free(crypt_writer_t *w);
/* Start a session whose header lands at file offset off. 0 or -1. */
int crypt_begin(crypt_writer_t *w, uint64_t off, int flags, buf_t *out);
/* One write batch (whole lines): records of at most CRYPT_RECORD_MAX, the
 * last one tagged PUSH. 0 or -1 (no session, or out full). */
int crypt_write(crypt_writer_t *w, const void *p, size_t n, buf_t *out);
/* End the session (FINAL record). 0 or -1. */
int crypt_end(crypt_writer_t *w, buf_t *out);
int crypt_in_session(const crypt_writer_t *w);
/* Bytes crypt_write adds to n plaintext bytes. */
size_t crypt_overhead(size_t n);

/* Reader: a push parser. Feed raw file bytes in order; plaintext is
 * appended to out. */
typedef struct crypt_reader crypt_reader_t;
crypt_reader_t *crypt_reader_new(const crypt_keys_t *k);
void crypt_reader_free(crypt_reader_t *r);
/* Parse whole units (a header or a record) from in[0..n); returns the bytes
 * consumed (the caller keeps the rest and feeds it again with more), or -1
 * on error (crypt_reader_error): bad magic or version, unknown key id,
 * authentication failure, a session out of place. Stops after max_out
 * plaintext bytes have been produced by this call (0 = no limit). */
ssize_t crypt_reader_feed(crypt_reader_t *r, const char *in, size_t n, buf_t *out, size_t max_out);
/* At the end of the input, with left bytes unconsumed: 0 when every session
 * ended, 1 when the last session has no FINAL (still being written, or
 * cut), -1 when left > 0 (a torn header or record). */
int crypt_reader_finish(crypt_reader_t *r, size_t left);
const char *crypt_reader_error(const crypt_reader_t *r);
/* File offset just past the last record that ended a batch (PUSH or FINAL),
 * or of the last complete session: where a repair cuts the file. */
uint64_t crypt_reader_good_offset(const crypt_reader_t *r);
/* Plaintext bytes produced before that offset. */
uint64_t crypt_reader_good_plain(const crypt_reader_t *r);
/* 1 if the session at the good offset is still open (no FINAL). */
int crypt_reader_open_session(const crypt_reader_t *r);
uint64_t crypt_reader_offset(const crypt_reader_t *r);  /* bytes consumed */

#endif
