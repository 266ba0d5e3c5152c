/* jsonl.h — reading capture files line by line, any line length up to a
 * configurable maximum (default 64 MiB, never below 16 MiB), from plain
 * .jsonl, .jsonl.gz, .jsonl.zst (recognised by their magic bytes, not by the
 * name), files encrypted by llm-tee (see crypt.h; needs a key), or stdin
 * ("-"). A last line without newline is a line. Lines are returned without
 * the newline (a CR before it is kept: it is part of the bytes), followed
 * by a NUL byte (so a line without NUL bytes is also a C string). */
#ifndef PLLM_JSONL_H
#define PLLM_JSONL_H
#include <stddef.h>
#include <stdint.h>

typedef struct jsonl_reader jsonl_reader_t;

typedef struct {
    size_t max_line;          /* 0 = default (64 MiB) */
    const char *key_file;     /* llm-tee encryption key file, or NULL */
    int follow;               /* at EOF, wait for more (tail -f); jsonl_next returns 2 when idle */
} jsonl_opts_t;

/* Open path ("-" = stdin). NULL and a message "PATH: reason" in err on
 * failure (missing key, bad header, unreadable). */
jsonl_reader_t *jsonl_open(const char *path, const jsonl_opts_t *o, char *err, size_t errlen);
/* Next line: 1 and *line and *len set (valid until the next call), 0 at EOF,
 * 2 with follow when no data is there yet, -1 on error (jsonl_error): an
 * I/O error, a corrupt or truncated compressed/encrypted file (tampering is
 * an error, never silently ignored), or a line over max_line (the reader
 * then skips to the next newline so the caller may go on). */
int jsonl_next(jsonl_reader_t *r, const char **line, size_t *len);
const char *jsonl_error(const jsonl_reader_t *r);
/* 1 when the last -1 was a line over max_line, skipped: the caller may go on */
int jsonl_error_skipped(const jsonl_reader_t *r);
uint64_t jsonl_lineno(const jsonl_reader_t *r);   /* of the last line returned */
const char *jsonl_path(const jsonl_reader_t *r);
void jsonl_close(jsonl_reader_t *r);

#endif
