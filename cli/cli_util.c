/*
 * cli_util.c - what `weft train` and `weft eval` share: option parsing
 * with messages naming the option, reading a list of workloads, drawing
 * with gnuplot, and finding the shipped model.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "dag/dag.h"
#include "workload/workload.h"

int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '-' || *s == '\0' || *end || errno || v < min || v > SIZE_MAX) {
        fprintf(stderr, "weft %s: %s '%s': expected an integer >= %zu\n", cmd, opt, s, min);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s == '-' || *s == '\0' || *end || errno) {
        fprintf(stderr, "weft %s: %s '%s': expected an integer >= 0\n", cmd, opt, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, bool strict,
                     double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < min || (strict && v == min)) {
        fprintf(stderr, "weft %s: %s '%s': expected a number %s %g\n", cmd, opt, s,
                strict ? ">" : ">=", min);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_read_workloads(const char *cmd, char *const *paths, size_t n, coflow_workload_t *out)
{
    for (size_t i = 0; i < n; i++) {
        weft_err_t err = workload_read(&out[i], paths[i], WORKLOAD_FORMAT_AUTO, NULL);
        coflow_fabric_t fab = {0};
        if (!err)
            err = coflow_fabric_init(&fab, out[i].n_ports, WEFT_GBPS_BYTES);
        if (!err)
            err = dag_analyze(&out[i], &fab);
        coflow_fabric_destroy(&fab);
        if (err) {
            cli_report(cmd, err);
            for (size_t k = 0; k < i; k++)
                coflow_workload_destroy(&out[k]);
            return -1;
        }
    }
    return 0;
}

const char *cli_optname(const struct option *longopts, int li, char *const *argv, int optind_,
                        char *buf, size_t len)
{
    if (li >= 0)
        snprintf(buf, len, "--%s", longopts[li].name);
    else
        snprintf(buf, len, "%s", argv[optind_ - 1]);
    return buf;
}

void cli_gp_quote(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', out);
        fputc(*s, out);
    }
    fputc('\'', out);
}

int cli_gnuplot(const char *cmd, const char *file, cli_plot_fn script, const void *arg)
{
    const char *ext = strrchr(file, '.');
    bool svg = ext && !strcmp(ext, ".svg");
    /* pngcairo draws better; plain png (libgd) is the fallback */
    const char *terms[2] = {svg ? "svg dynamic" : "pngcairo", svg ? NULL : "png"};
    for (int k = 0; k < 2 && terms[k]; k++) {
        FILE *gp = popen("gnuplot 2>/dev/null", "w");
        if (!gp)
            break;
        fprintf(gp, "set terminal %s size 960,600\nset output ", terms[k]);
        cli_gp_quote(gp, file);
        fputc('\n', gp);
        script(gp, arg);
        fputs("\nunset output\n", gp);
        int status = pclose(gp);
        if (status == 0)
            return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            break; /* no gnuplot at all */
    }
    fprintf(stderr, "weft %s: gnuplot failed to draw '%s' (is gnuplot installed?)\n", cmd, file);
    return -1;
}

static bool is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

const char *cli_default_model(char *buf, size_t len)
{
    const char *env = getenv("WEFT_MODEL");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        /* build/weft -> models/; bin/weft -> share/weft/models/; next to it */
        const char *rel[] = {"/../models/", "/../share/weft/models/", "/models/"};
        for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
            snprintf(buf, len, "%s%s%s", exe, rel[i], CLI_MODEL_NAME);
            if (is_file(buf))
                return buf;
        }
    }
#ifdef WEFT_SOURCE_DIR
    snprintf(buf, len, "%s/models/%s", WEFT_SOURCE_DIR, CLI_MODEL_NAME);
    if (is_file(buf))
        return buf;
#endif
    return NULL;
}
