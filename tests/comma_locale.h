/* A locale whose decimal point is a comma, for the tests that check weft's
 * files are read and written alike whatever locale a program set. Debian
 * ships none ready, so it is built here with glibc's localedef (libc-bin)
 * from a two-line LC_NUMERIC and the locales package's character maps, in
 * about 25 ms. */
#ifndef WEFT_TESTS_COMMA_LOCALE_H
#define WEFT_TESTS_COMMA_LOCALE_H

#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

/* Sets the program's locale to the comma one and checks printf writes 1.5
 * as "1,5"; skips the test if it cannot be built. setlocale(LC_ALL, "C")
 * at the end of the test gives the C locale back. */
static inline void use_comma_locale(void)
{
    char dir[] = "/tmp/weft-test-locale-XXXXXX", cmd[256], src[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(src, sizeof src, "%s/comma.src", dir);
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs("LC_NUMERIC\ndecimal_point \",\"\nthousands_sep \".\"\ngrouping 3;3\n"
          "END LC_NUMERIC\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "localedef -c -i %s -f ANSI_X3.4-1968 %s/comma >/dev/null 2>&1",
             src, dir);
    int made = system(cmd);
    setenv("LOCPATH", dir, 1);
    bool have = setlocale(LC_ALL, "comma") != NULL;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    if (!have)
        cr_skip_test("no locale with a decimal comma (localedef exit status %d)", made);
    char probe[8];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    cr_assert_str_eq(probe, "1,5", "the locale did not take");
}

#endif
