/* log.c — the relay's diagnostics: one line on stderr, "llm-relay: …"
 * (workers say "llm-relay[N]: …"); -q keeps only warnings and errors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "relay.h"

const char *progname = "llm-relay";
int relay_quiet;
relay_conf_t *(*relay_conf_loader)(char *err, size_t errlen);

void relay_log(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (relay_quiet && strncmp(msg, "warning", 7) && strncmp(msg, "error", 5) && strncmp(msg, "fatal", 5)) return;
    fprintf(stderr, "%s: %s\n", progname, msg);
}
