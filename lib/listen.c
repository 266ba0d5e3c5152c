/* listen.c — TCP listening sockets (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* digits only, 0..65535 (getaddrinfo would take "", " 80" and 99999) */
static int port_ok(const char *p)
{
    size_t n = strspn(p, "0123456789");
    return n > 0 && n <= 5 && !p[n] && atol(p) <= 65535;
}

/* spec → a socket address; 0 or -1 */
static int parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256] = "";
    const char *port;
    if (spec[0] == '[') {                       /* [v6]:port */
        const char *e = strchr(spec, ']');
        if (!e || e[1] != ':' || (size_t)(e - spec - 1) >= sizeof host) return -1;
        memcpy(host, spec + 1, (size_t)(e - spec - 1));
        port = e + 2;
    } else {
        const char *c = strrchr(spec, ':');
        if (!c) {
            port = spec;
        } else {
            if ((size_t)(c - spec) >= sizeof host) return -1;
            memcpy(host, spec, (size_t)(c - spec));
            port = c + 1;
        }
        if (!host[0]) strcpy(host, "0.0.0.0");
    }
    struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai;
    if (!port_ok(port) || getaddrinfo(host, port, &hints, &ai) != 0) return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

int listen_open(const char *spec, int backlog, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse(spec, &ss, &sl) < 0) {
        snprintf(err, errlen, "bad listen address %s (want ADDR:PORT or [V6]:PORT)", spec);
        return -2;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, backlog) < 0) {
        snprintf(err, errlen, "unable to listen on %s: %s", spec, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

int listen_format(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN];
    if (outlen) out[0] = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return -1;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        if (!inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host)) return -1;
        snprintf(out, outlen, "[%s]:%u", host, ntohs(a->sin6_port));
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        if (!inet_ntop(AF_INET, &a->sin_addr, host, sizeof host)) return -1;
        snprintf(out, outlen, "%s:%u", host, ntohs(a->sin_port));
    } else {
        return -1;
    }
    return 0;
}
