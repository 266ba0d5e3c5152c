/* test_listen.c — unit tests for lib/listen.c: listening on 127.0.0.1:0,
 * [::1]:0, :0 and a bare port; the socket's flags (non-blocking,
 * close-on-exec, SO_REUSEADDR, IPV6_V6ONLY); the bound address as logged;
 * a connection that arrives; bad addresses and a port in use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "err.h"
#include "listen.h"

static int sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t l = sizeof v;
    assert_int_equal(getsockopt(fd, level, name, &v, &l), 0);
    return v;
}

/* the port of "ADDR:PORT" / "[ADDR]:PORT" after prefix; fails when the
 * text is not prefix + digits */
static unsigned port_after(const char *addr, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(addr, prefix, n) || !addr[n] || strspn(addr + n, "0123456789") != strlen(addr + n))
        fail_msg("\"%s\" is not \"%sPORT\"", addr, prefix);
    unsigned p = (unsigned)atoi(addr + n);
    assert_true(p > 0 && p <= 65535);
    return p;
}

/* a client connects to the port; the listener accepts it */
static void connects(int fd, int family, unsigned port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    }
    int c = socket(family, SOCK_STREAM, 0);
    assert_true(c >= 0);
    assert_int_equal(connect(c, (struct sockaddr *)&ss, sl), 0);
    int a = -1;
    for (int i = 0; i < 1000 && a < 0; i++) {
        a = accept(fd, NULL, NULL);
        if (a < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);   /* non-blocking */
            usleep(1000);
        }
    }
    assert_true(a >= 0);
    close(a);
    close(c);
}

static void flags_are_right(int fd)
{
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(sockopt(fd, SOL_SOCKET, SO_REUSEADDR), 1);
    assert_int_equal(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    /* nothing waiting: accept does not block */
    assert_int_equal(accept(fd, NULL, NULL), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void ipv4_loopback(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE] = "";
    int fd = listen_open("127.0.0.1:0", 16, err, sizeof err);
    if (fd < 0)
        fail_msg("%s", err);
    flags_are_right(fd);
    char addr[LISTEN_ADDR_LEN];
    assert_int_equal(listen_format(fd, addr, sizeof addr), 0);
    unsigned port = port_after(addr, "127.0.0.1:");
    connects(fd, AF_INET, port);

    /* the same port again: in use */
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%u", port);
    err[0] = 0;
    assert_int_equal(listen_open(spec, 16, err, sizeof err), -1);
    char want[ERRBUF_SIZE];
    snprintf(want, sizeof want, "unable to listen on %s: %s", spec, strerror(EADDRINUSE));
    assert_string_equal(err, want);
    close(fd);

    /* once closed, it can be listened on again at once (SO_REUSEADDR) */
    fd = listen_open(spec, 16, err, sizeof err);
    assert_true(fd >= 0);
    assert_int_equal(listen_format(fd, addr, sizeof addr), 0);
    assert_string_equal(addr, spec);
    close(fd);
}

static void ipv6_loopback(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE] = "";
    int fd = listen_open("[::1]:0", 16, err, sizeof err);
    if (fd < 0 && strstr(err, strerror(EADDRNOTAVAIL))) {
        skip();                              /* no IPv6 on this host */
    }
    if (fd < 0)
        fail_msg("%s", err);
    flags_are_right(fd);
    assert_int_equal(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    char addr[LISTEN_ADDR_LEN];
    assert_int_equal(listen_format(fd, addr, sizeof addr), 0);
    unsigned port = port_after(addr, "[::1]:");
    connects(fd, AF_INET6, port);
    close(fd);

    /* [::]: IPv6 only, so the IPv4 side of the port stays free */
    fd = listen_open("[::]:0", 16, err, sizeof err);
    assert_true(fd >= 0);
    assert_int_equal(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    assert_int_equal(listen_format(fd, addr, sizeof addr), 0);
    port = port_after(addr, "[::]:");
    char spec[64];
    snprintf(spec, sizeof spec, "0.0.0.0:%u", port);
    int fd4 = listen_open(spec, 16, err, sizeof err);
    if (fd4 < 0)
        fail_msg("%s", err);
    close(fd4);
    close(fd);
}

static void any_address(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE] = "", addr[LISTEN_ADDR_LEN];
    /* ":PORT" and a bare "PORT": every IPv4 address */
    const char *specs[] = { ":0", "0", "0.0.0.0:0" };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        int fd = listen_open(specs[i], 4, err, sizeof err);
        if (fd < 0)
            fail_msg("%s: %s", specs[i], err);
        assert_int_equal(listen_format(fd, addr, sizeof addr), 0);
        unsigned port = port_after(addr, "0.0.0.0:");
        connects(fd, AF_INET, port);
        close(fd);
    }
}

static void bad_addresses(void **state)
{
    (void)state;
    const char *bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:99999", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1: 80", "127.0.0.1:80x", "[::1]", "[::1]80", "[::1:80",
                          "[]:80", "", ":" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERRBUF_SIZE] = "", want[ERRBUF_SIZE];
        int fd = listen_open(bad[i], 4, err, sizeof err);
        if (fd != -2)
            fail_msg("\"%s\": %d (%s), want -2", bad[i], fd, err);
        snprintf(want, sizeof want, "bad listen address %s (want ADDR:PORT or [V6]:PORT)", bad[i]);
        assert_string_equal(err, want);
    }
    /* an address this host does not have: the system says no */
    char err[ERRBUF_SIZE] = "";
    assert_int_equal(listen_open("192.0.2.1:0", 4, err, sizeof err), -1);
    assert_true(strncmp(err, "unable to listen on 192.0.2.1:0: ", 33) == 0);
}

static void format_other_fds(void **state)
{
    (void)state;
    char addr[LISTEN_ADDR_LEN] = "x";
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(listen_format(p[0], addr, sizeof addr), -1);
    assert_string_equal(addr, "");
    close(p[0]);
    close(p[1]);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(u >= 0);
    strcpy(addr, "x");
    assert_int_equal(listen_format(u, addr, sizeof addr), -1);
    assert_string_equal(addr, "");
    close(u);
    assert_int_equal(listen_format(-1, addr, sizeof addr), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_loopback),
        cmocka_unit_test(ipv6_loopback),
        cmocka_unit_test(any_address),
        cmocka_unit_test(bad_addresses),
        cmocka_unit_test(format_other_fds),
    };
    return cmocka_run_group_tests_name("listen", tests, NULL, NULL);
}
