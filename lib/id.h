/* id.h — exchange ids: UUIDv7 (RFC 9562), unique across processes and
 * hosts (the 62 bits of rand_b from getrandom), sorting by time; within
 * one process ids are strictly increasing: the 12-bit rand_a holds the
 * sub-millisecond fraction and is bumped as a counter when needed (RFC
 * 9562 §6.2 method 3), carrying into the millisecond field. */
#ifndef PLLM_ID_H
#define PLLM_ID_H
#include <stdint.h>

#define ID_LEN 37 /* 36 chars + NUL, lower-case hex, 8-4-4-4-12 */

/* Write a new UUIDv7 for time wall_us (µs since epoch) into out.
 * Returns 0, or -1 if no randomness could be had. */
int id_new(int64_t wall_us, char out[ID_LEN]);
/* 1 if s is a well-formed UUID string (any version), else 0. */
int id_valid(const char *s);

#endif
