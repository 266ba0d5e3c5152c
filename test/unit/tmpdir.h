/* tmpdir.h — a scratch directory for a unit test program: made before the
 * tests (tmpdir_make), removed with its contents after them (tmpdir_remove,
 * a cmocka group teardown). */
#ifndef PLLM_TEST_TMPDIR_H
#define PLLM_TEST_TMPDIR_H
#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

static inline int tmpdir_make(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%s.XXXXXX", name);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int tmpdir_remove(void **state)
{
    (void)state;
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
