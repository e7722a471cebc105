/*
 * suite_tmpdir.h - a suite's temporary directory, made by its .init and
 * removed by its .fini, and SKIP_TEST, which removes it before skipping:
 * cr_skip_test ends the test's process without the suite's .fini, which
 * left an empty directory in /tmp at every sanitizer run.
 */
#ifndef WEFT_TESTS_SUITE_TMPDIR_H
#define WEFT_TESTS_SUITE_TMPDIR_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* Makes /tmp/NAME-XXXXXX into tmpdir. */
__attribute__((unused)) static void tmpdir_make(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%s-XXXXXX", name);
    cr_assert(mkdtemp(tmpdir), "mkdtemp %s", tmpdir);
}

__attribute__((unused)) static void tmpdir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

#define SKIP_TEST(...) \
    do { \
        tmpdir_remove(); \
        cr_skip_test(__VA_ARGS__); \
    } while (0)

#endif
