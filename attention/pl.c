/*
 * pl.c - the Plackett–Luce distribution over priority orders (Plackett
 * 1975; Luce 1959) that the scores define, its log-probability and
 * gradient, a first-pick entropy, and exact sampling by Gumbel top-k.
 *
 * Under Plackett–Luce an order π is drawn by picking the first coflow with
 * probability softmax(s), then the next among the rest, and so on:
 *   log P(π) = Σ_i [ s_{π_i} − lse_i ],   lse_i = log Σ_{k>=i} exp(s_{π_k}).
 * Adding independent Gumbel(0,1) noise to every score and sorting
 * descending draws exactly this distribution (Yellott 1977; the Gumbel-max
 * trick applied repeatedly, "Gumbel top-k", Kool, van Hoof & Welling 2019,
 * §2), in O(n log n) rather than n softmax draws.
 *
 * Everything is accumulated in double whatever weft_real_t is: a REINFORCE
 * log-probability over a thousand coflows sums a thousand terms.
 */
#include <assert.h>
#include <math.h>

#include "attention/attn.h"

void attn_rng_seed(attn_rng_t *rng, uint64_t seed) { rng->state = seed; }

uint64_t attn_rng_next(attn_rng_t *rng)
{
    /* splitmix64 (Steele, Lea & Flood 2014) */
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double attn_rng_uniform(attn_rng_t *rng)
{
    /* the centre of one of 2^53 equal cells, never 0; in the upper half a
       centre needs 54 bits and rounds to an edge of its cell, and the last
       cell's to 1, which is taken back to the double below */
    double u = ((double)(attn_rng_next(rng) >> 11) + 0.5) * 0x1.0p-53;
    return u < 1 ? u : 1 - 0x1.0p-53;
}

/* log(exp(a) + exp(b)) without overflow; -inf + -inf stays -inf. */
static double logaddexp(double a, double b)
{
    double m = a > b ? a : b;
    if (m == -INFINITY)
        return -INFINITY;
    return m + log1p(exp(-fabs(a - b)));
}

double attn_pl_logprob(const weft_real_t *scores, size_t n, const size_t *order)
{
    assert(scores && order && n >= 1);
    double lse = -INFINITY, lp = 0;
    for (size_t i = n; i-- > 0;) { /* from the back: lse_i = logaddexp(s_{π_i}, lse_{i+1}) */
        assert(order[i] < n);
        double s = scores[order[i]];
        lse = logaddexp(lse, s);
        lp += s - lse;
    }
    return lp;
}

void attn_pl_logprob_backward(const weft_real_t *scores, size_t n, const size_t *order,
                              double coef, weft_real_t *dscores, double *work)
{
    assert(scores && order && dscores && work && n >= 1);
    /* pass 1, as the forward: work[i] = lse_i */
    double lse = -INFINITY;
    for (size_t i = n; i-- > 0;) {
        assert(order[i] < n);
        lse = logaddexp(lse, scores[order[i]]);
        work[i] = lse;
    }
    /* pass 2: s_{π_j} appears in the terms i <= j, each contributing
     * −softmax weight exp(s_{π_j} − lse_i); their sum is exp(s_{π_j} + A_j)
     * with A_j = log Σ_{i<=j} exp(−lse_i), kept in log space so neither
     * factor overflows (each weight is <= 1, so s_{π_j} + A_j <= log(j+1)) */
    double A = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        A = logaddexp(A, -work[j]);
        double s = scores[order[j]];
        dscores[order[j]] += (weft_real_t)(coef * (1.0 - exp(s + A)));
    }
}

/* lse = log Σ exp(s); the max is subtracted first. */
static double logsumexp(const weft_real_t *s, size_t n)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (s[i] > mx)
            mx = s[i];
    if (mx == -INFINITY)
        return -INFINITY;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += exp(s[i] - mx);
        /* cppcheck-suppress invalidFunctionArg ; sum >= 1: the max's own term is exp(0) */
    return mx + log(sum);
}

double attn_pl_first_entropy(const weft_real_t *scores, size_t n)
{
    assert(scores && n >= 1);
    double lse = logsumexp(scores, n), h = 0;
    for (size_t i = 0; i < n; i++) {
        double lp = scores[i] - lse;
        h -= exp(lp) * lp;
    }
    return h;
}

void attn_pl_first_entropy_backward(const weft_real_t *scores, size_t n, double coef,
                                    weft_real_t *dscores)
{
    assert(scores && dscores && n >= 1);
    double lse = logsumexp(scores, n), h = attn_pl_first_entropy(scores, n);
    for (size_t j = 0; j < n; j++) {
        double lp = scores[j] - lse;
        dscores[j] += (weft_real_t)(coef * (-exp(lp) * (lp + h)));
    }
}

/* Heapsort of idx[0..n) so that idx[i] comes before idx[j] (i < j) when its
 * key is larger, ties to the lower index: a total order, so the result does
 * not depend on the sort's (in)stability. In place, O(n log n). */
#define DEFINE_SORT_DESC(fname, key_t)                                                             \
    static int fname##_before(const key_t *key, size_t a, size_t b)                                \
    {                                                                                              \
        return key[a] > key[b] || (key[a] == key[b] && a < b);                                     \
    }                                                                                              \
    static void fname##_sift(size_t *idx, size_t root, size_t end, const key_t *key)               \
    {                                                                                              \
        for (;;) {                                                                                 \
            size_t child = 2 * root + 1, last = root;                                              \
            if (child >= end)                                                                      \
                return;                                                                            \
            /* max-heap on "comes later", so the latest sinks to the end */                        \
            if (fname##_before(key, idx[last], idx[child]))                                        \
                last = child;                                                                      \
            if (child + 1 < end && fname##_before(key, idx[last], idx[child + 1]))                 \
                last = child + 1;                                                                  \
            if (last == root)                                                                      \
                return;                                                                            \
            size_t t = idx[root];                                                                  \
            idx[root] = idx[last];                                                                 \
            idx[last] = t;                                                                         \
            root = last;                                                                           \
        }                                                                                          \
    }                                                                                              \
    static void fname(size_t *idx, size_t n, const key_t *key)                                     \
    {                                                                                              \
        for (size_t i = 0; i < n; i++)                                                             \
            idx[i] = i;                                                                            \
        for (size_t i = n / 2; i-- > 0;)                                                           \
            fname##_sift(idx, i, n, key);                                                          \
        for (size_t end = n; end > 1; end--) {                                                     \
            size_t t = idx[0];                                                                     \
            idx[0] = idx[end - 1];                                                                 \
            idx[end - 1] = t;                                                                      \
            fname##_sift(idx, 0, end - 1, key);                                                    \
        }                                                                                          \
    }

/* cppcheck-suppress arrayIndexThenCheck ; `a < b` breaks ties, it checks no limit */
DEFINE_SORT_DESC(sort_desc_double, double)
/* cppcheck-suppress arrayIndexThenCheck ; as above */
DEFINE_SORT_DESC(sort_desc_real, weft_real_t)

void attn_gumbel_topk(const weft_real_t *scores, size_t n, attn_rng_t *rng, size_t *order_out,
                      double *work)
{
    assert(scores && rng && order_out && work);
    for (size_t i = 0; i < n; i++) /* Gumbel(0,1) = −log(−log U) */
        work[i] = (double)scores[i] - log(-log(attn_rng_uniform(rng)));
    sort_desc_double(order_out, n, work);
}

void attn_argsort_desc(const weft_real_t *scores, size_t n, size_t *order_out)
{
    assert(scores && order_out);
    sort_desc_real(order_out, n, scores);
}
