/* mock-upstream: flags, listening socket, accept loop, signals.
 *
 *   mock-upstream [--listen HOST:PORT] [--port-file FILE] [--demo]
 *
 * Default 127.0.0.1:0 (an ephemeral port). Once listening, the port is
 * written to FILE (via a temporary name and rename) and announced on
 * stderr. SIGTERM and SIGINT end the program with status 0. */
#include "mock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(void)
{
	fputs("usage: mock-upstream [--listen HOST:PORT] [--port-file FILE] "
	      "[--demo]\n",
	      stderr);
	exit(100);
}

static int listen_on(const char *spec)
{
	char host[256], port[32];
	const char *colon;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host)
			return -1;
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof host)
			return -1;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	if (strlen(colon + 1) >= sizeof port || !colon[1])
		return -1;
	strcpy(port, colon + 1);

	struct addrinfo hints = {0}, *res, *ai;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "mock-upstream: fatal: unable to resolve %s: %s\n",
			spec, gai_strerror(rc));
		exit(111);
	}
	int fd = -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 512) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "mock-upstream: fatal: unable to listen on %s: %s\n",
			spec, strerror(errno));
		exit(111);
	}
	return fd;
}

static void announce(int fd, const char *port_file)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[NI_MAXHOST], port[NI_MAXSERV];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, port,
			sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		fprintf(stderr, "mock-upstream: fatal: unable to get address: %s\n",
			strerror(errno));
		exit(111);
	}
	if (port_file) {
		size_t n = strlen(port_file) + 32;
		char *tmp = xmalloc(n);
		snprintf(tmp, n, "%s.%ld.tmp", port_file, (long)getpid());
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%s\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, port_file) != 0) {
			fprintf(stderr,
				"mock-upstream: fatal: unable to write %s: %s\n",
				port_file, strerror(errno));
			unlink(tmp);
			exit(111);
		}
		free(tmp);
	}
	if (ss.ss_family == AF_INET6)
		fprintf(stderr, "mock-upstream: listening on [%s]:%s\n", host,
			port);
	else
		fprintf(stderr, "mock-upstream: listening on %s:%s\n", host,
			port);
	fflush(stderr);
}

int main(int argc, char **argv)
{
	const char *listen_spec = "127.0.0.1:0", *port_file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strncmp(a, "--listen=", 9) == 0)
			listen_spec = a + 9;
		else if (strcmp(a, "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (strncmp(a, "--port-file=", 12) == 0)
			port_file = a + 12;
		else if (strcmp(a, "--demo") == 0)
			g_demo = true;
		else
			usage();
	}

	signal(SIGPIPE, SIG_IGN);
	/* SIGINT/SIGTERM are blocked everywhere except inside ppoll() in the
	 * accept loop, so they always wake the main thread. */
	sigset_t block, orig;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGTERM);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int lfd = listen_on(listen_spec);
	announce(lfd, port_file);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);

	while (!g_stop) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		int n = ppoll(&pfd, 1, NULL, &orig);
		if (g_stop)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "mock-upstream: fatal: poll: %s\n",
				strerror(errno));
			exit(111);
		}
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(10000);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = xmalloc(sizeof *c);
		memset(c, 0, sizeof *c);
		c->fd = fd;
		pthread_t t;
		if (pthread_create(&t, &attr, conn_thread, c) != 0) {
			close(fd);
			free(c);
			stats_inc(ST_CONNECTIONS);
		}
	}
	pthread_attr_destroy(&attr);
	close(lfd);
	return 0;
}
