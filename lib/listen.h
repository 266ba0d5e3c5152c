/* listen.h — TCP listening sockets from an address as a flag gives it:
 * "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" (the last two: every IPv4
 * address), and the bound address as log lines show it. */
#ifndef PLLM_LISTEN_H
#define PLLM_LISTEN_H
#include <stddef.h>

/* room for "[" INET6 address "]:" port + NUL */
#define LISTEN_ADDR_LEN 64

/* Open a socket listening on spec (ADDR may be a name, resolved; PORT is
 * a decimal number up to 65535, 0: a free one), with SO_REUSEADDR, IPV6_V6ONLY for IPv6,
 * non-blocking and close-on-exec. The fd; -2 when spec is not an address
 * (err "bad listen address SPEC (want ADDR:PORT or [V6]:PORT)"); -1 when
 * the system refuses (err "unable to listen on SPEC: <reason>"). */
int listen_open(const char *spec, int backlog, char *err, size_t errlen);
/* The address fd is bound to, "127.0.0.1:8080" or "[::1]:8080", into out
 * (LISTEN_ADDR_LEN bytes). 0, or -1 when fd is not a bound IPv4 or IPv6
 * socket (out is then ""). */
int listen_format(int fd, char *out, size_t outlen);

#endif
