/* files.h — the daily layout of capture files written by llm-tee:
 *   DIR/YYYY/MM/DD.jsonl          the day's current file
 *   DIR/YYYY/MM/DD.N.jsonl        rotated parts (N = 1, 2, …), oldest first
 *   … each possibly compressed (.jsonl.zst, .jsonl.gz) or encrypted
 *   (.jsonl.enc, .jsonl.zst.enc, …)
 *   DIR/YYYY/MM/DD.rejects.jsonl  lines that were not JSON objects
 *                                 (.rejects.jsonl.enc when encrypted)
 * and finding the files of a day or a range of days, in write order.
 * Names ending in anything else (.tmp: a compression in progress) are not
 * part of the record. When a part exists both compressed and not (a
 * compression finished but the original was not removed yet), the
 * uncompressed one is the part. */
#ifndef PLLM_FILES_H
#define PLLM_FILES_H
#include <stddef.h>

typedef struct { int y, m, d; } day_t;

/* "YYYY-MM-DD" → day; 0 or -1 when not a real calendar date. */
int day_parse(const char *s, day_t *d);
void day_format(day_t d, char out[11]);
day_t day_add(day_t d, int days);             /* calendar arithmetic */
int day_cmp(day_t a, day_t b);
long day_to_epoch(day_t d);                   /* days since 1970-01-01 */
day_t day_from_epoch(long days);
/* The files holding day d under dir, in write order (rotated parts by N,
 * then the current file), rejects excluded. *paths is a malloc'd array of
 * malloc'd strings (free with files_free). Returns the count, 0 when the
 * day has none, -1 on error (err). */
int files_for_day(const char *dir, day_t d, char ***paths, char *err, size_t errlen);
void files_free(char **paths, int n);

/* What a file name in a month folder says. */
#define FILES_CURRENT 0
#define FILES_REJECTS (-1)
enum { FILES_PLAIN = 0, FILES_ZST = 1, FILES_GZ = 2 };
typedef struct {
    int d;            /* day of the month */
    long part;        /* FILES_CURRENT, FILES_REJECTS, or N ≥ 1 */
    int compression;  /* FILES_PLAIN, FILES_ZST, FILES_GZ */
    int encrypted;
} file_name_t;
/* 0 and *f filled when name is one of the layout's names, else -1. */
int files_parse_name(const char *name, file_name_t *f);
/* "DIR/YYYY/MM" into out; -1 if it does not fit. */
int files_day_dir(const char *dir, day_t d, char *out, size_t outlen);
/* The days under dir that have at least one file (data or rejects),
 * oldest first. *days is malloc'd. Returns the count or -1 (err). */
int files_list_days(const char *dir, day_t **days, char *err, size_t errlen);

#endif
