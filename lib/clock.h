/* clock.h — microsecond time: wall clock for timestamps, monotonic for
 * durations, RFC 3339 UTC formatting and parsing. */
#ifndef PLLM_CLOCK_H
#define PLLM_CLOCK_H
#include <stdint.h>
#include <stddef.h>

#define RFC3339_LEN 28 /* "2026-11-26T09:51:55.123456Z" + NUL */

int64_t clock_wall_us(void);   /* µs since the Unix epoch (CLOCK_REALTIME) */
int64_t clock_mono_us(void);   /* µs on CLOCK_MONOTONIC */
/* Format µs since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into out
 * (at least RFC3339_LEN bytes). Returns the length written (27). Times
 * outside years 0000..9999 are clamped to that range. */
size_t clock_rfc3339(int64_t wall_us, char *out);
/* Parse an RFC 3339 timestamp (any offset, optional fraction up to µs,
 * 'Z' or ±HH:MM) into µs since the epoch. Returns 0 or -1 on bad input.
 * 't', 'z' and a space for 'T' are accepted (RFC 3339 §5.6 notes); digits
 * of the fraction past µs are truncated; second 60 (leap) is accepted
 * and counts as the next minute's :00. */
int clock_parse_rfc3339(const char *s, int64_t *wall_us);

#endif
