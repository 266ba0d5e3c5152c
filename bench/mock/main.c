/* main.c — bench-mock: dispatch to a command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "bench.h"
#include "err.h"

const char *progname = "bench-mock";

static void usage(FILE *f)
{
    fprintf(f,
"usage: bench-mock serve [--listen HOST:PORT] [--port-file FILE] [--threads N]\n"
"                        [--chunks N] [--interval-ms N]\n"
"       bench-mock streams --url URL [--streams N] [--concurrency C] [--ramp-ms R]\n"
"                        [--chunks N] [--interval-ms N] [--timeout-s S] [--max-gap-ms G]\n"
"                        [--body-bytes B] [--watch-pid PID]... [--label L]\n"
"       bench-mock capcount PATH...   (files, or folders searched for *.jsonl)\n"
"       bench-mock gen --from SAMPLE --bytes SIZE [--day YYYY-MM-DD] [-o FILE]\n"
"       bench-mock port               (a free TCP port on 127.0.0.1)\n"
"       bench-mock rss PID            (VmRSS of PID in KiB)\n"
"See bench/README.md.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return EXIT_USAGE; }
    const char *c = argv[1];
    if (!strcmp(c, "-h") || !strcmp(c, "--help")) { usage(stdout); return 0; }
    if (!strcmp(c, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(c, "streams")) return cmd_streams(argc - 1, argv + 1);
    if (!strcmp(c, "capcount")) return cmd_capcount(argc - 1, argv + 1);
    if (!strcmp(c, "gen")) return cmd_gen(argc - 1, argv + 1);
    if (!strcmp(c, "port") && argc == 2) {
        int fd = listen_on("127.0.0.1:0", 0, 1), port = fd < 0 ? -1 : bound_port(fd);
        if (port < 0) { bwarn("port: unable to bind: %s", strerror(errno)); return EXIT_TEMP; }
        close(fd);
        printf("%d\n", port);
        return 0;
    }
    if (!strcmp(c, "rss") && argc == 3) {
        long kib = rss_kib((pid_t)atol(argv[2]));
        if (kib < 0) { bwarn("rss: no process %s", argv[2]); return EXIT_NO; }
        printf("%ld\n", kib);
        return 0;
    }
    usage(stderr);
    return EXIT_USAGE;
}
