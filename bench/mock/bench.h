/* bench.h — bench-mock, the one C program of `make bench`: a fast mock
 * upstream (serve), a streaming load client (streams), a capture counter
 * (capcount) and a capture generator (gen). See bench/README.md. */
#ifndef BENCH_H
#define BENCH_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern const char *progname;

/* the commands: each returns an exit code (err.h) */
int cmd_serve(int argc, char **argv);
int cmd_streams(int argc, char **argv);
int cmd_capcount(int argc, char **argv);
int cmd_gen(int argc, char **argv);

/* util.c */
void bwarn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bfatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
int set_nonblock(int fd);
/* "HOST:PORT" → a listening, non-blocking TCP socket (SO_REUSEPORT when
 * reuseport). -1 and errno on failure. */
int listen_on(const char *spec, int reuseport, int backlog);
int bound_port(int fd);
/* Write "PORT\n" to FILE.tmp and rename it to FILE. */
int write_port_file(const char *file, int port);
/* "http://HOST:PORT/PATH" → host, port, path. -1 when malformed. */
int parse_url(const char *url, char *host, size_t hostlen, int *port,
              char *path, size_t pathlen);
/* Numbers with an optional K/M/G suffix (powers of 1024). -1 on error. */
long long parse_count(const char *s);
/* epoll_wait with a timeout in µs (epoll_pwait2; epoll_wait rounded up to
 * ms where that is missing). */
struct epoll_event;
int epoll_wait_us(int epfd, struct epoll_event *evs, int n, int64_t timeout_us);
/* VmRSS of a process in KiB, -1 when it cannot be read. */
long rss_kib(pid_t pid);

#endif
