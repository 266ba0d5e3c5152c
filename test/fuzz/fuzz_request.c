/* fuzz_request.c — libFuzzer target over the relay's request path: the
 * fuzz input is the raw bytes a client sends on one connection (request
 * line, headers, body, pipelined requests). They go through the real
 * libmicrohttpd daemon, header checks, body intake, routing, capture and
 * the upstream start, against an upstream that refuses connections, in the
 * real event loop. Built by `make fuzz` (clang, -fsanitize=fuzzer). */
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "relay.h"
#include "clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static relay_t R;
static relay_conf_t *C;

static void setup(void)
{
    char err[256];
    relay_quiet = 1;
    C = conf_new_defaults();
    upstream_t *u = conf_add_upstream(C, "default", "http://127.0.0.1:9");
    u->timeout_ms = 50;
    u->idle_timeout_ms = 50;
    C->max_request_body = 64 << 10;
    C->body_buffer = 4 << 10;              /* exercise the streamed-body path too */
    C->header_timeout_ms = 20;            /* inputs cut mid-head end fast */
    C->body_grace_ms = 20;
    C->capture = strdup("none");
    if (conf_finish(C, err, sizeof err) < 0) abort();
    R.conf = C;
    R.inetd = 1;                           /* no listening socket: connections are handed in */
    R.epfd = epoll_create1(EPOLL_CLOEXEC);
    R.m = metrics_new();
    R.sink = sink_open("none", C->queue_max, 0, err, sizeof err);
    R.sig_watch.fd = -1;
    if (R.epfd < 0 || !R.m || !R.sink || upstream_init(&R) < 0 ||
        server_start(&R, NULL, 0, err, sizeof err) < 0)
        abort();
    R.next_sweep_mono = clock_mono_us();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) { setup(); ready = 1; }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 0;
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(4242), .sin_addr.s_addr = htonl(0x7f000001) };
    R.stop = 0;
    int64_t t0 = clock_mono_us();
    if (server_add_fd(&R, sv[0], (struct sockaddr *)&sa, sizeof sa) < 0) { close(sv[0]); close(sv[1]); return 0; }
    char sink[65536];
    for (int i = 0; i < 400 && !R.stop; i++) {
        loop_once(&R, i < 50 ? 0 : 5);
        while (read(sv[1], sink, sizeof sink) > 0) {}
        if (i == 300) shutdown(sv[1], SHUT_RDWR);   /* still open: the client gives up */
    }
    close(sv[1]);
    for (int i = 0; i < 100 && !R.stop; i++) loop_once(&R, i < 20 ? 0 : 5);
    if (getenv("FUZZ_DEBUG")) fprintf(stderr, "stop=%d t=%lld\n", R.stop, (long long)(clock_mono_us() - t0));
    return 0;
}
