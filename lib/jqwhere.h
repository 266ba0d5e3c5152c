/* jqwhere.h — a jq filter over JSON rows (the --where JQ of llm-export,
 * llm-stats and llm-replay): a program compiled once with libjq, then run
 * on each row; the row passes when the program's first output is neither
 * false nor null. No output at all: it does not pass. The row is a
 * jansson value, converted to jq's jv directly (no text in between).
 * One jqwhere_t is used by one thread at a time. */
#ifndef PLLM_JQWHERE_H
#define PLLM_JQWHERE_H
#include <stddef.h>
#include <jansson.h>

typedef struct jqwhere jqwhere_t;

/* Compile prog. label names the filter in messages ("--where"; NULL:
 * none). NULL on failure, with err "LABEL: <jq's message>" (or "LABEL:
 * does not compile"), or "out of memory". */
jqwhere_t *jqwhere_compile(const char *prog, const char *label, char *err, size_t errlen);
void jqwhere_free(jqwhere_t *w);
/* Run the program on row (borrowed). 1: the first output is neither false
 * nor null; 0: it is false or null, or there is no output; -1: a jq error
 * (err "LABEL: <message>"), or row is NULL (err "out of memory"). */
int jqwhere_test(jqwhere_t *w, const json_t *row, char *err, size_t errlen);
/* The same, taking the reference to row (a NULL row: memory ran out while
 * it was built). For jqwhere_test_new(w, make_row(x), ...). */
int jqwhere_test_new(jqwhere_t *w, json_t *row, char *err, size_t errlen);

#endif
