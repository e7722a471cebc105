/*
 * rng.c - the generator's random numbers: xoshiro256** seeded by splitmix64.
 *
 * Both algorithms follow their published descriptions (Blackman & Vigna,
 * "Scrambled linear pseudorandom number generators", ACM TOMS 2021, for
 * xoshiro256**; Steele, Lea & Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014, for splitmix64, used here only to expand a 64-bit
 * seed into the 256-bit state, as Vigna recommends). Only integer arithmetic
 * on uint64_t, so a seed gives the same stream on every platform.
 *
 * Invariant: the state is never all zero (splitmix64 never outputs four
 * zeros in a row from consecutive counters; seeding checks anyway).
 */
#include "workload.h"

#include <assert.h>
#include <math.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* One splitmix64 step: advances *x by the golden-ratio increment and mixes. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void workload_rng_seed(workload_rng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* xoshiro's one forbidden state */
}

uint64_t workload_rng_next(workload_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double workload_rng_uniform(workload_rng_t *r)
{
    /* The top 53 bits are the best ones and fill a double's mantissa exactly. */
    return (double)(workload_rng_next(r) >> 11) * 0x1.0p-53;
}

size_t workload_rng_below(workload_rng_t *r, size_t n)
{
    assert(n > 0);
    if (n <= 1)
        return 0;
    /* Rejection: accept x only in [2^64 mod n, 2^64), a range whose length is
     * a multiple of n, so x mod n is exactly uniform. (0 - n) % n computes
     * 2^64 mod n in uint64_t. At most half the draws are rejected. */
    uint64_t m = (uint64_t)n;
    uint64_t threshold = (0 - m) % m;
    for (;;) {
        uint64_t x = workload_rng_next(r);
        if (x >= threshold)
            return (size_t)(x % m);
    }
}

double workload_rng_exp(workload_rng_t *r, double mean)
{
    /* Inversion: 1 - u is in (0, 1], so the logarithm is finite. */
    return -mean * log1p(-workload_rng_uniform(r));
}
