/* Helpers shared by the C tests: a counting allocator that can be told to
 * fail its k-th allocation (for strong-guarantee loops), and a small
 * deterministic random generator so that tests do not depend on libc rand. */
#ifndef CS_TESTUTIL_H
#define CS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cloudsched/common.h"

typedef struct test_alloc {
    long fail_at;     /* fail the allocation with this ordinal (1-based); 0 = never */
    long count;       /* allocations (alloc + realloc) attempted so far */
    long live;        /* blocks currently allocated */
    long failures;    /* allocations refused */
} test_alloc;

/* An allocator whose ctx is `t`. */
cs_allocator test_alloc_make(test_alloc *t);

/* Arm: the k-th allocation from now fails (k >= 1); k = 0 disarms. */
void test_alloc_fail_after(test_alloc *t, long k);

/* xoshiro256** seeded by splitmix64: reproducible across platforms. */
typedef struct test_rng {
    uint64_t s[4];
} test_rng;

void test_rng_seed(test_rng *r, uint64_t seed);
uint64_t test_rng_next(test_rng *r);
/* Uniform integer in [0, n). n > 0. */
uint64_t test_rng_below(test_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double test_rng_uniform(test_rng *r);
/* Standard normal (Box-Muller). */
double test_rng_normal(test_rng *r);

#endif
