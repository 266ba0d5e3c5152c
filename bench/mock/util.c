/* util.c — small helpers shared by the bench-mock commands: diagnostics,
 * sockets, URLs, numbers, the RSS of a process. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include "bench.h"

static void say(const char *tag, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s", progname, tag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void bwarn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
}

void bfatal(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("fatal: ", fmt, ap);
    va_end(ap);
    exit(code);
}

int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int split_hostport(const char *spec, char *host, size_t hostlen, const char **port)
{
    const char *c = strrchr(spec, ':');
    if (!c) { snprintf(host, hostlen, "127.0.0.1"); *port = spec; return 0; }
    size_t n = (size_t)(c - spec);
    if (n >= hostlen) return -1;
    memcpy(host, spec, n); host[n] = 0;
    if (!host[0]) snprintf(host, hostlen, "127.0.0.1");
    *port = c + 1;
    return 0;
}

int listen_on(const char *spec, int reuseport, int backlog)
{
    char host[256]; const char *port;
    if (split_hostport(spec, host, sizeof host, &port) < 0) { errno = EINVAL; return -1; }
    struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | AI_PASSIVE,
                              .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0) { errno = EINVAL; return -1; }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
            int e = errno; close(fd); errno = e; fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

int bound_port(int fd)
{
    struct sockaddr_in sa; socklen_t sl = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) return -1;
    return ntohs(sa.sin_port);
}

int write_port_file(const char *file, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, file) < 0) { unlink(tmp); return -1; }
    return 0;
}

int parse_url(const char *url, char *host, size_t hostlen, int *port, char *path, size_t pathlen)
{
    if (strncmp(url, "http://", 7)) return -1;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    char hp[300];
    if (hl == 0 || hl >= sizeof hp) return -1;
    memcpy(hp, h, hl); hp[hl] = 0;
    const char *ps;
    if (split_hostport(hp, host, hostlen, &ps) < 0 || !strchr(hp, ':')) return -1;
    char *e; long p = strtol(ps, &e, 10);
    if (*e || p <= 0 || p > 65535) return -1;
    *port = (int)p;
    snprintf(path, pathlen, "%s", slash ? slash : "/");
    return 0;
}

long long parse_count(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (e == s || v < 0) return -1;
    switch (*e) {
    case 'k': case 'K': v *= 1024; e++; break;
    case 'm': case 'M': v *= 1024.0 * 1024; e++; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; e++; break;
    default: break;
    }
    if (*e == 'i' || *e == 'I') e++;
    if (*e == 'b' || *e == 'B') e++;
    return *e ? -1 : (long long)v;
}

long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { kib = strtol(line + 6, NULL, 10); break; }
    fclose(f);
    return kib;
}

int epoll_wait_us(int epfd, struct epoll_event *evs, int n, int64_t timeout_us)
{
    static int no_pwait2;
    if (timeout_us < 0) timeout_us = 0;
    if (!no_pwait2) {
        struct timespec ts = { (time_t)(timeout_us / 1000000), (long)(timeout_us % 1000000) * 1000 };
        int r = epoll_pwait2(epfd, evs, n, &ts, NULL);
        if (r >= 0 || errno != ENOSYS) return r;
        no_pwait2 = 1;                  /* old kernels, valgrind */
    }
    return epoll_wait(epfd, evs, n, (int)((timeout_us + 999) / 1000));
}
