#include "testutil.h"

#include <math.h>
#include <stdlib.h>

static void *t_alloc(void *ctx, size_t size)
{
    test_alloc *t = ctx;
    t->count++;
    if (t->fail_at != 0 && t->count == t->fail_at) {
        t->failures++;
        return NULL;
    }
    void *p = malloc(size);
    if (p != NULL)
        t->live++;
    return p;
}

static void *t_realloc(void *ctx, void *ptr, size_t size)
{
    test_alloc *t = ctx;
    t->count++;
    if (t->fail_at != 0 && t->count == t->fail_at) {
        t->failures++;
        return NULL;
    }
    return realloc(ptr, size);
}

static void t_free(void *ctx, void *ptr)
{
    test_alloc *t = ctx;
    if (ptr != NULL)
        t->live--;
    free(ptr);
}

cs_allocator test_alloc_make(test_alloc *t)
{
    cs_allocator a = {t_alloc, t_realloc, t_free, t};
    return a;
}

void test_alloc_fail_after(test_alloc *t, long k)
{
    t->fail_at = k == 0 ? 0 : t->count + k;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void test_rng_seed(test_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t test_rng_next(test_rng *r)
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

uint64_t test_rng_below(test_rng *r, uint64_t n)
{
    /* Rejection keeps it unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = test_rng_next(r);
    while (x >= limit);
    return x % n;
}

double test_rng_uniform(test_rng *r)
{
    return (double)(test_rng_next(r) >> 11) * 0x1.0p-53;
}

double test_rng_normal(test_rng *r)
{
    double u1 = test_rng_uniform(r), u2 = test_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
