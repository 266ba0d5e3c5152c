/* files.h — the daily layout of capture files written by llm-tee:
 *   DIR/YYYY/MM/DD.jsonl          the day's current file
 *   DIR/YYYY/MM/DD.N.jsonl        rotated parts (N = 1, 2, …), oldest first
 *   … each possibly compressed (.jsonl.zst, .jsonl.gz) or encrypted
 *   (.jsonl.enc, .jsonl.zst.enc, …)
 *   DIR/YYYY/MM/DD.rejects.jsonl  lines that were not JSON objects
 * and finding the files of a day or a range of days, in write order. */
#ifndef PLLM_FILES_H
#define PLLM_FILES_H
#include <stddef.h>

typedef struct { int y, m, d; } day_t;

/* "YYYY-MM-DD" → day; 0 or -1 when not a real calendar date. */
int day_parse(const char *s, day_t *d);
void day_format(day_t d, char out[11]);
day_t day_add(day_t d, int days);             /* calendar arithmetic */
int day_cmp(day_t a, day_t b);
/* The files holding day d under dir, in write order (rotated parts by N,
 * then the current file), rejects excluded. *paths is a malloc'd array of
 * malloc'd strings (free with files_free). Returns the count, 0 when the
 * day has none, -1 on error (err). */
int files_for_day(const char *dir, day_t d, char ***paths, char *err, size_t errlen);
void files_free(char **paths, int n);

#endif
