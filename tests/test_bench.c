/*
 * test_bench.c - the benchmark programs' own logic, which has no other
 * test: bench_util.h's parsing and median, and what bench_sim, bench_order
 * and bench_gateway do with a bad command line. A benchmark that takes a
 * typo as "nothing to run" or "no time limit" prints a table that looks
 * like a result, so each refusal must come before the first run, name
 * what was wrong and exit with status 2.
 *
 * The programs are found beside $WEFT_BIN (ctest sets it; the build puts
 * every executable in one directory) and run from the source tree.
 */
#define BENCH_NAME "test_bench"
#include "benchmarks/bench_util.h"

#include <libgen.h>

#include "tests/cli_run.h"

Test(bench, parse_count_takes_only_whole_numbers_in_range)
{
    unsigned long v = 77;
    cr_assert(bench_parse_count("300", 1, 1000, &v));
    cr_assert_eq(v, 300);
    cr_assert(bench_parse_count("1", 1, 1, &v));
    cr_assert_eq(v, 1);
    /* what atoi() took: "abc" as 0 (bench_sim's --limit 0 is no limit at
       all), "3x" as 3, "-1" as a huge unsigned */
    static const char *const bad[] = {"", "abc", "3x", "-1", "+3", " 3", "0", "1001",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 77;
        cr_assert_not(bench_parse_count(bad[i], 1, 1000, &v), "'%s' was taken", bad[i]);
        cr_assert_eq(v, 77, "'%s' changed the value", bad[i]);
    }
}

Test(bench, only_unknown_names_the_first_bad_name)
{
    char bad[32];
    cr_assert_not(bench_only_unknown("fifo", bad, sizeof bad));
    cr_assert_not(bench_only_unknown("fifo,sebf,jsebf-cp,fair,srf,learned", bad, sizeof bad));
    static const struct {
        const char *list, *first_bad;
    } cases[] = {{"nosuch", "nosuch"},   {"fifo,sebff,aalo", "sebff"}, {"fifo,", ""},
                 {",fifo", ""},          {"", ""},                     {"fifo,,sebf", ""},
                 {"sebf,SEBF", "SEBF"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert(bench_only_unknown(cases[i].list, bad, sizeof bad), "'%s' passed",
                  cases[i].list);
        cr_assert_str_eq(bad, cases[i].first_bad, "in '%s'", cases[i].list);
    }
    /* longer than the buffer: refused, not cut to a known prefix */
    cr_assert(bench_only_unknown("fifoooooooo", bad, 5));
}

Test(bench, median_of_odd_and_even_counts)
{
    double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2}, one[] = {7};
    cr_assert_float_eq(bench_median(odd, 3), 3, 0);
    cr_assert_float_eq(bench_median(even, 4), 2.5, 0);
    cr_assert_float_eq(bench_median(one, 1), 7, 0);
}

static char bench_bin[512];

/* Points cli() at the benchmark `name` beside $WEFT_BIN. */
static void use_bench(const char *name)
{
    const char *weft = getenv("WEFT_BIN");
    cr_assert(weft, "WEFT_BIN is not set (run through ctest)");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", weft);
    snprintf(bench_bin, sizeof bench_bin, "%s/%s", dirname(dir), name);
    cr_assert_eq(access(bench_bin, X_OK), 0, "%s is not built", bench_bin);
    cli_bin = bench_bin;
}

static void bench_setup(void) { cli_open("bench"); }

/* `bench ARGS` exits 2 before its first run (no table on stdout) with a
 * message holding `names`. */
static void refused(const char *bench, const char *args, const char *names)
{
    use_bench(bench);
    int st = cli("%s", args);
    cr_assert_eq(st, 2, "%s %s exited %d: %s%s", bench, args, st, cli_file("out"),
                 cli_file("err"));
    cr_assert_str_empty(cli_file("out"), "%s %s ran something", bench, args);
    cr_assert(strstr(cli_file("err"), names), "%s %s: '%s' not in: %s", bench, args, names,
              cli_file("err"));
}

Test(bench, sim_refuses_a_bad_command_line_before_any_run, .init = bench_setup,
     .fini = cli_teardown, .timeout = 60)
{
    refused("bench_sim", "--policies-only --only nosuch", "nosuch");
    refused("bench_sim", "--policies-only --only fifo,sebff", "sebff");
    refused("bench_sim", "--policies-only --only fifo, --limit 5", "--only");
    /* names it knows, but none the chosen sections run */
    refused("bench_sim", "--scale-only --only aalo", "aalo");
    refused("bench_sim", "--only fifo --limit abc", "--limit");
    refused("bench_sim", "--only fifo --limit 0", "--limit");
    /* the growth runs' copies, checked before the trace's runs */
    refused("bench_sim", "--only fifo --scales 1,x", "--scales");
    refused("bench_sim", "--only fifo --scales 0", "--scales");
    refused("bench_sim", "--only fifo --scale 4", "--scale");
    refused("bench_sim", "--only fifo --limit", "--limit");
    refused("bench_sim", "/nonexistent/trace.txt --only fifo", "/nonexistent/trace.txt");
    refused("bench_sim", "data/FB2010-1Hr-150-0.txt other.txt --only fifo", "other.txt");
}

Test(bench, order_refuses_a_bad_command_line_before_any_run, .init = bench_setup,
     .fini = cli_teardown, .timeout = 60)
{
    refused("bench_order", "--only nosuch", "nosuch");
    /* sincronia is a policy, but --compare sort does not time it */
    refused("bench_order", "--compare sort --only sincronia", "sincronia");
    refused("bench_order", "--rounds 2x", "--rounds");
    refused("bench_order", "--rounds 0", "--rounds");
}

Test(bench, gateway_names_the_bad_option, .init = bench_setup, .fini = cli_teardown,
     .timeout = 60)
{
    refused("bench_gateway", "--policy nosuch", "nosuch");
    refused("bench_gateway", "--agents abc", "--agents");
    refused("bench_gateway", "--agents 1", "--agents");
    refused("bench_gateway", "--seconds 0", "--seconds");
    refused("bench_gateway", "--chain 2x", "--chain");
    refused("bench_gateway", "--every 1", "--every");
}

Test(bench, journal_and_check_refuse_what_is_not_a_count, .init = bench_setup,
     .fini = cli_teardown, .timeout = 60)
{
    refused("bench_journal", "--records 5x", "--records '5x'");
    refused("bench_journal", "--records -1", "--records '-1'"); /* was 2^64 - 1 */
    refused("bench_journal", "--flows 0", "--flows");
    refused("bench_check", "--seeds -5-3", "--seeds"); /* was 2^64 - 5 to 3: nothing run */
    refused("bench_check", "--seeds 3-2", "--seeds");
    refused("bench_check", "--seeds 1-x", "--seeds");
}
