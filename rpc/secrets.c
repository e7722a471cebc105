/*
 * secrets.c - the agents' secrets one per port (weft serve --agent-tokens):
 * a file of "PORT SECRET" lines, so that a machine's secret lets it speak
 * for its own port only (gateway.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define LINE_MAX_BYTES 1024

void rpc_port_secrets_free(char **secrets, size_t n_ports)
{
    if (!secrets)
        return;
    for (size_t p = 0; p < n_ports; p++)
        free(secrets[p]);
    free(secrets);
}

static const char *const *sort_base; /* for by_secret (qsort has no context) */

static int by_secret(const void *a, const void *b)
{
    size_t p = *(const size_t *)a, q = *(const size_t *)b;
    int c = strcmp(sort_base[p], sort_base[q]);
    return c ? c : (p > q) - (p < q);
}

/* Two ports with one secret: the machines could speak for each other. */
static weft_err_t refuse_shared(const char *path, char **sec, const size_t *line_of,
                                size_t n_ports, size_t n)
{
    size_t *ports = weft_calloc(n, sizeof *ports), k = 0;
    if (!ports)
        return weft_fail(WEFT_ENOMEM, "out of memory for the agents' secrets");
    for (size_t p = 0; p < n_ports; p++)
        if (sec[p])
            ports[k++] = p;
    sort_base = (const char *const *)sec;
    qsort(ports, n, sizeof *ports, by_secret);
    weft_err_t err = WEFT_OK;
    for (size_t i = 1; i < n && !err; i++) {
        size_t p = ports[i - 1], q = ports[i];
        if (!strcmp(sec[p], sec[q])) {
            size_t first = line_of[p] < line_of[q] ? p : q, later = first == p ? q : p;
            err = weft_fail(WEFT_EINVAL, "%s:%zu: port %zu has the secret of port %zu (line "
                            "%zu): each machine needs one of its own", path, line_of[later],
                            later, first, line_of[first]);
        }
    }
    free(ports);
    return err;
}

weft_err_t rpc_port_secrets_read(const char *path, size_t n_ports, char ***out)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_fail(WEFT_EIO, "agent secrets %s: %s", path, strerror(errno));
    char **sec = weft_calloc(n_ports ? n_ports : 1, sizeof *sec);
    size_t *line_of = weft_calloc(n_ports ? n_ports : 1, sizeof *line_of);
    weft_err_t err = WEFT_OK;
    if (!sec || !line_of)
        err = weft_fail(WEFT_ENOMEM, "out of memory for %zu ports' secrets", n_ports);
    char buf[LINE_MAX_BYTES + 1];
    size_t line = 0, n = 0;
    while (!err && fgets(buf, sizeof buf, f)) {
        line++;
        size_t len = strlen(buf);
        if (len == LINE_MAX_BYTES && buf[len - 1] != '\n' && !feof(f)) {
            err = weft_fail(WEFT_EINVAL, "%s:%zu: a line longer than %d bytes", path, line,
                            LINE_MAX_BYTES - 1);
            break;
        }
        char *s = buf + strspn(buf, " \t");
        if (*s == '#' || *s == '\n' || *s == '\r' || !*s)
            continue; /* a comment or a blank line */
        char *end;
        errno = 0;
        unsigned long long port = strtoull(s, &end, 10);
        char *secret = end + strspn(end, " \t");
        size_t n_secret = strcspn(secret, " \t\r\n");
        char *after = secret + n_secret + strspn(secret + n_secret, " \t\r\n");
        /* a note after the secret ("0 4f1c9e  # rack1-host07") is a
           comment: the secret ends at the first blank */
        bool note = *after == '#' && after > secret + n_secret;
        if (end == s || *s == '-' || *s == '+' || errno || secret == end || n_secret == 0 ||
            (*after && !note)) {
            err = weft_fail(WEFT_EINVAL, "%s:%zu: expected 'PORT SECRET' (a port number, then "
                            "a secret without spaces)", path, line);
            break;
        }
        if (port >= n_ports) {
            err = weft_fail(WEFT_EINVAL, "%s:%zu: port %llu, but the gateway has ports 0..%zu",
                            path, line, port, n_ports - 1);
            break;
        }
        if (sec[port]) {
            err = weft_fail(WEFT_EINVAL, "%s:%zu: port %llu again (its secret is on line %zu)",
                            path, line, port, line_of[port]);
            break;
        }
        secret[n_secret] = 0;
        if (!(sec[port] = strdup(secret)))
            err = weft_fail(WEFT_ENOMEM, "out of memory for the agents' secrets");
        line_of[port] = line;
        n++;
    }
    if (!err && ferror(f))
        err = weft_fail(WEFT_EIO, "agent secrets %s: %s", path, strerror(errno));
    if (!err && n == 0)
        err = weft_fail(WEFT_EINVAL, "agent secrets %s: no 'PORT SECRET' line", path);
    fclose(f);
    if (!err)
        err = refuse_shared(path, sec, line_of, n_ports, n);
    free(line_of);
    if (err) {
        rpc_port_secrets_free(sec, n_ports);
        return err;
    }
    *out = sec;
    return WEFT_OK;
}
