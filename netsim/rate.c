/*
 * rate.c - port rates written the way operators write them ("10Gbps",
 * "1Gibps", "125MB/s") turned into the bytes per second the model uses, and
 * sizes with the same prefixes ("5MB", "1MiB") into bytes.
 */
#include "netsim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The prefix of a unit at *q ("K", "Mi", any case of the letter): its
 * multiplier, *q moved past it; 1, *q unmoved, for none. A letter with
 * nothing after it is no prefix ("B" is a byte). A decimal prefix counts in
 * powers of dec (1000, or 1024 for the trace's binary MB under --varys),
 * one with an 'i' in powers of 1024. */
static double unit_prefix(const char **q, double dec)
{
    int power = 0;
    switch (**q) {
    case 'k': case 'K': power = 1; break;
    case 'm': case 'M': power = 2; break;
    case 'g': case 'G': power = 3; break;
    case 't': case 'T': power = 4; break;
    default: break;
    }
    if (!power || !(*q)[1])
        return 1;
    (*q)++;
    if (**q == 'i') {
        dec = 1024;
        (*q)++;
    }
    return pow(dec, power);
}

weft_err_t netsim_parse_rate(const char *s, double *bytes_per_s)
{
    if (!s || !*s)
        return weft_fail(WEFT_EINVAL, "empty port rate; expected e.g. 10Gbps, 1Gibps or a "
                         "number of bytes/s");
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s)
        return weft_fail(WEFT_EINVAL, "port rate '%s': expected a number, optionally followed "
                         "by a unit such as Gbps, Gibps or MB/s", s);
    /* an underflow (1e-400) reads as 0 or a subnormal, refused below as
       under 1 bit/s */
    if (errno == ERANGE && isinf(x))
        return weft_fail(WEFT_EINVAL, "port rate '%s': the number is too large for a double",
                         s);
    const char *u = end;
    while (*u == ' ')
        u++;
    double mult = 1, unit = 1; /* unit: 1 for bytes, 1/8 for bits */
    if (*u) {
        const char *q = u;
        mult = unit_prefix(&q, 1000);
        if (!strcmp(q, "bps") || !strcmp(q, "bit/s") || !strcmp(q, "b/s"))
            unit = 1.0 / 8;
        else if (!strcmp(q, "Bps") || !strcmp(q, "B/s"))
            unit = 1;
        else
            return weft_fail(WEFT_EINVAL, "port rate '%s': unknown unit '%s'; expected bps, "
                             "Kbps, Mbps, Gbps, Tbps, Kibps, Mibps, Gibps, Tibps, or B/s with "
                             "the same prefixes (no unit: bytes/s)", s, u);
    }
    double r = x * mult * unit;
    if (!isfinite(r) || r <= 0)
        return weft_fail(WEFT_EINVAL, "port rate '%s' is %g bytes/s; expected a finite rate > 0",
                         s, r);
    /* below a bit a second, sending a workload's bytes takes longer than
       the clock (a double of seconds) can count */
    if (r < 0.125)
        return weft_fail(WEFT_EINVAL, "port rate '%s' is %g bytes/s; expected at least 1 bit/s "
                         "(0.125 bytes/s)", s, r);
    *bytes_per_s = r;
    return WEFT_OK;
}

weft_err_t netsim_parse_size(const char *s, bool binary, double *bytes)
{
    char *end;
    double x = s && *s ? strtod(s, &end) : 0;
    if (!s || !*s || end == s)
        return weft_fail(WEFT_EINVAL, "size '%s': expected a number, optionally followed by "
                         "a unit such as MB or MiB", s ? s : "");
    const char *u = end;
    while (*u == ' ')
        u++;
    double mult = 1;
    if (*u) {
        const char *q = u;
        mult = unit_prefix(&q, binary ? 1024 : 1000);
        if (strcmp(q, "B") != 0)
            return weft_fail(WEFT_EINVAL, "size '%s': unknown unit '%s'; expected B, KB, MB, "
                             "GB, TB, KiB, MiB, GiB or TiB (no unit: bytes)", s, u);
    }
    double b = x * mult;
    if (!isfinite(b) || !(b > 0))
        return weft_fail(WEFT_EINVAL, "size '%s' is %g bytes; expected a finite size > 0", s,
                         b);
    *bytes = b;
    return WEFT_OK;
}
