/* Fair-share state: decay against closed forms, Slurm's classic factor worked
 * out by hand, dominant shares, bad inputs and allocation failures. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "testutil.h"

/* NAN and INFINITY are floats; these are the doubles. */
#define DNAN ((double)NAN)
#define DINF ((double)INFINITY)

#define MAXT 64

static cs_fair *make_fair(double half_life, size_t nres)
{
    cs_fair_options o;
    ck_assert_int_eq(cs_fair_options_init(&o, sizeof o), CS_OK);
    o.half_life = half_life;
    o.num_resources = nres;
    cs_fair *f = NULL;
    ck_assert_int_eq(cs_fair_create(&o, NULL, &f), CS_OK);
    return f;
}

static void assert_close(double got, double want, double rel)
{
    double tol = rel * fabs(want);
    ck_assert_msg(fabs(got - want) <= tol, "got %.17g, want %.17g", got, want);
}

/* Everything observable about a handle, for "nothing changed" checks. */
typedef struct snap {
    size_t n;
    uint64_t ids[MAXT];
    double weight[MAXT], usage[MAXT], factor[MAXT], share[MAXT];
    int64_t alloc[MAXT][4];
} snap;

static void take_snap(const cs_fair *f, double now, size_t nres, snap *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(cs_fair_tenants(f, s->ids, MAXT, &s->n), CS_OK);
    for (size_t i = 0; i < s->n; i++) {
        ck_assert_int_eq(cs_fair_weight(f, s->ids[i], &s->weight[i]), CS_OK);
        ck_assert_int_eq(cs_fair_usage(f, s->ids[i], now, &s->usage[i]), CS_OK);
        ck_assert_int_eq(cs_fair_factor(f, s->ids[i], &s->factor[i]), CS_OK);
        ck_assert_int_eq(cs_fair_dominant_share(f, s->ids[i], &s->share[i], NULL), CS_OK);
        if (nres > 0)
            ck_assert_int_eq(cs_fair_allocation(f, s->ids[i], s->alloc[i], nres), CS_OK);
    }
}

static void assert_same(const cs_fair *f, double now, size_t nres, const snap *before)
{
    snap after;
    take_snap(f, now, nres, &after);
    ck_assert(memcmp(before, &after, sizeof after) == 0);
}

START_TEST(options_and_create)
{
    cs_fair_options o;
    ck_assert_int_eq(cs_fair_options_init(&o, sizeof o), CS_OK);
    ck_assert(o.half_life == 604800.0);
    ck_assert_uint_eq(o.num_resources, 0);
    ck_assert(o.default_weight == 1.0);
    ck_assert_int_eq(cs_fair_options_init(NULL, sizeof o), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_options_init(&o, 4), CS_ERR_INVALID);

    cs_fair *f = (cs_fair *)&o; /* must stay untouched on failure */
    cs_fair *const sentinel = f;
    ck_assert_int_eq(cs_fair_create(NULL, NULL, NULL), CS_ERR_INVALID);
    double bad_half[] = {-1.0, DNAN, DINF};
    for (size_t i = 0; i < 3; i++) {
        cs_fair_options_init(&o, sizeof o);
        o.half_life = bad_half[i];
        ck_assert_int_eq(cs_fair_create(&o, NULL, &f), CS_ERR_INVALID);
    }
    double bad_weight[] = {0.0, -1.0, DNAN, DINF};
    for (size_t i = 0; i < 4; i++) {
        cs_fair_options_init(&o, sizeof o);
        o.default_weight = bad_weight[i];
        ck_assert_int_eq(cs_fair_create(&o, NULL, &f), CS_ERR_INVALID);
    }
    cs_fair_options_init(&o, sizeof o);
    o.num_resources = CS_FAIR_MAX_RESOURCES + 1;
    ck_assert_int_eq(cs_fair_create(&o, NULL, &f), CS_ERR_INVALID);
    cs_fair_options_init(&o, sizeof o);
    o.size = 5;
    ck_assert_int_eq(cs_fair_create(&o, NULL, &f), CS_ERR_INVALID);
    cs_allocator incomplete = {NULL, NULL, NULL, NULL};
    ck_assert_int_eq(cs_fair_create(NULL, &incomplete, &f), CS_ERR_INVALID);
    ck_assert_ptr_eq(f, sentinel);

    ck_assert_int_eq(cs_fair_create(NULL, NULL, &f), CS_OK);
    ck_assert_uint_eq(cs_fair_num_tenants(f), 0);
    ck_assert_uint_eq(cs_fair_num_tenants(NULL), 0);
    cs_fair_destroy(f);
    cs_fair_destroy(NULL);
}
END_TEST

START_TEST(decay_closed_form)
{
    /* Half-life 10 s: 100 charged at t = 0 is 100 * 2^(-t/10): 50 at t = 10,
     * 25 at t = 20, 100 / sqrt(2) at t = 5. */
    cs_fair *f = make_fair(10.0, 0);
    ck_assert_int_eq(cs_fair_charge(f, 1, 100.0, 0.0), CS_OK);
    double u;
    ck_assert_int_eq(cs_fair_usage(f, 1, 0.0, &u), CS_OK);
    ck_assert(u == 100.0);
    ck_assert_int_eq(cs_fair_usage(f, 1, 10.0, &u), CS_OK);
    ck_assert(u == 50.0);
    ck_assert_int_eq(cs_fair_usage(f, 1, 20.0, &u), CS_OK);
    ck_assert(u == 25.0);
    ck_assert_int_eq(cs_fair_usage(f, 1, 5.0, &u), CS_OK);
    assert_close(u, 100.0 / sqrt(2.0), 1e-15);

    /* 50 more at t = 10: at t = 20, 100 * 2^-2 + 50 * 2^-1 = 25 + 25 = 50;
     * at t = 40, 100 * 2^-4 + 50 * 2^-3 = 6.25 + 6.25 = 12.5. */
    ck_assert_int_eq(cs_fair_charge(f, 1, 50.0, 10.0), CS_OK);
    ck_assert_int_eq(cs_fair_usage(f, 1, 20.0, &u), CS_OK);
    ck_assert(u == 50.0);
    ck_assert_int_eq(cs_fair_usage(f, 1, 40.0, &u), CS_OK);
    ck_assert(u == 12.5);
    /* Queries cannot look before the latest charge. */
    ck_assert_int_eq(cs_fair_usage(f, 1, 9.0, &u), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_usage(f, 1, DNAN, &u), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_usage(f, 2, 20.0, &u), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_fair_usage(f, 1, 20.0, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_usage(NULL, 1, 20.0, &u), CS_ERR_INVALID);
    cs_fair_destroy(f);

    /* Half-life 0: no decay at all. */
    f = make_fair(0.0, 0);
    ck_assert_int_eq(cs_fair_charge(f, 7, 10.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 7, 5.0, 100.0), CS_OK);
    ck_assert_int_eq(cs_fair_usage(f, 7, 1e9, &u), CS_OK);
    ck_assert(u == 15.0);
    cs_fair_destroy(f);
}
END_TEST

START_TEST(decay_over_many_half_lives)
{
    /* Half-life 1 s. Tenant 1: 1 at t = 0 and 1 at t = 100; tenant 2: 8 at
     * t = 50. At t = 100: tenant 1 has 1 + 2^-100, tenant 2 has 8 * 2^-50 =
     * 2^-47. The charge at t = 100 lies 100 half-lives past the first, which
     * forces the power-of-two rescaling of the stored units. */
    cs_fair *f = make_fair(1.0, 0);
    ck_assert_int_eq(cs_fair_charge(f, 1, 1.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 2, 8.0, 50.0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 1, 1.0, 100.0), CS_OK);
    double u;
    ck_assert_int_eq(cs_fair_usage(f, 1, 100.0, &u), CS_OK);
    assert_close(u, 1.0 + ldexp(1.0, -100), 1e-15);
    ck_assert_int_eq(cs_fair_usage(f, 2, 100.0, &u), CS_OK);
    assert_close(u, ldexp(1.0, -47), 1e-12);
    /* 10 s later: both halve ten times. */
    ck_assert_int_eq(cs_fair_usage(f, 2, 110.0, &u), CS_OK);
    assert_close(u, ldexp(1.0, -57), 1e-12);
    /* Factor: U_norm(2) = 2^-47 / (1 + 2^-100 + 2^-47), S_norm = 1/2. */
    double fac, un = ldexp(1.0, -47) / (1.0 + ldexp(1.0, -47));
    ck_assert_int_eq(cs_fair_factor(f, 2, &fac), CS_OK);
    assert_close(fac, exp2(-un / 0.5), 1e-15);
    /* 3000 half-lives later, everything before has decayed to zero. */
    ck_assert_int_eq(cs_fair_charge(f, 2, 3.0, 3100.0), CS_OK);
    ck_assert_int_eq(cs_fair_usage(f, 2, 3100.0, &u), CS_OK);
    ck_assert(u == 3.0);
    ck_assert_int_eq(cs_fair_usage(f, 1, 3100.0, &u), CS_OK);
    ck_assert(u == 0.0);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fac), CS_OK);
    ck_assert(fac == 1.0); /* U_norm = 0 */
    cs_fair_destroy(f);
}
END_TEST

START_TEST(factor_closed_form)
{
    cs_fair *f = make_fair(100.0, 0);
    double fa, fb, fc;
    /* Nothing charged: every factor is 1. */
    ck_assert_int_eq(cs_fair_set_weight(f, 1, 1.0), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fa), CS_OK);
    ck_assert(fa == 1.0);
    /* Equal weights, usage 30 and 10: U_norm = 3/4 and 1/4, S_norm = 1/2:
     * F_1 = 2^-(0.75/0.5) = 2^-1.5, F_2 = 2^-(0.25/0.5) = 2^-0.5. */
    ck_assert_int_eq(cs_fair_charge(f, 1, 30.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 2, 10.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fa), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 2, &fb), CS_OK);
    assert_close(fa, 0.35355339059327373, 1e-15);
    assert_close(fb, 0.70710678118654752, 1e-15);
    /* Uniform decay leaves the factors alone: a zero charge 250 s later. */
    ck_assert_int_eq(cs_fair_charge(f, 1, 0.0, 250.0), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fa), CS_OK);
    assert_close(fa, 0.35355339059327373, 1e-14);
    cs_fair_destroy(f);

    /* Weights 3 and 1 with usage 60 and 20: U_norm = S_norm for both, so
     * F = 2^-1 = 0.5. Add tenant 3 (weight 4, no usage): S_norm becomes
     * 3/8 and 1/8, so F_1 = 2^-(0.75 / 0.375) = 1/4, F_2 = 2^-(0.25 / 0.125)
     * = 1/4, F_3 = 2^0 = 1. */
    f = make_fair(0.0, 0);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, 3.0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 1, 60.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 2, 20.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fa), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 2, &fb), CS_OK);
    ck_assert(fa == 0.5 && fb == 0.5);
    ck_assert_int_eq(cs_fair_set_weight(f, 3, 4.0), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fa), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 2, &fb), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 3, &fc), CS_OK);
    ck_assert(fa == 0.25 && fb == 0.25 && fc == 1.0);
    double w;
    ck_assert_int_eq(cs_fair_weight(f, 3, &w), CS_OK);
    ck_assert(w == 4.0);
    ck_assert_int_eq(cs_fair_weight(f, 9, &w), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_fair_weight(f, 3, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_factor(f, 9, &fa), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_fair_factor(f, 1, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_factor(NULL, 1, &fa), CS_ERR_INVALID);
    /* Removing tenant 3 restores the two-tenant factors. */
    ck_assert_int_eq(cs_fair_remove_tenant(f, 3), CS_OK);
    ck_assert_int_eq(cs_fair_factor(f, 1, &fa), CS_OK);
    ck_assert(fa == 0.5);
    cs_fair_destroy(f);
}
END_TEST

START_TEST(dominant_shares)
{
    /* Capacity <9 CPU, 18 GB> (the DRF paper's cluster). */
    cs_fair *f = make_fair(0.0, 2);
    int64_t cap[2] = {9, 18}, a3[2] = {3, 12}, b2[2] = {6, 2}, one[2] = {1, 4};
    ck_assert_int_eq(cs_fair_set_capacity(f, cap, 2), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, 2.0), CS_OK);
    /* A holds <3, 12>: max(3/9, 12/18) = 2/3; weighted by 2: 1/3. */
    ck_assert_int_eq(cs_fair_allocate(f, 1, a3, 2), CS_OK);
    double d, dw;
    ck_assert_int_eq(cs_fair_dominant_share(f, 1, &d, &dw), CS_OK);
    ck_assert(d == 2.0 / 3.0 && dw == 1.0 / 3.0);
    /* B (created by the allocation, weight 1) holds <6, 2>: 6/9 = 2/3. */
    ck_assert_int_eq(cs_fair_allocate(f, 2, b2, 2), CS_OK);
    ck_assert_int_eq(cs_fair_dominant_share(f, 2, &d, &dw), CS_OK);
    ck_assert(d == 2.0 / 3.0 && dw == 2.0 / 3.0);
    /* A releases <1, 4>: <2, 8>, max(2/9, 8/18) = 4/9. */
    ck_assert_int_eq(cs_fair_release(f, 1, one, 2), CS_OK);
    ck_assert_int_eq(cs_fair_dominant_share(f, 1, &d, NULL), CS_OK);
    ck_assert(d == 4.0 / 9.0);
    int64_t got[2];
    ck_assert_int_eq(cs_fair_allocation(f, 1, got, 2), CS_OK);
    ck_assert(got[0] == 2 && got[1] == 8);
    /* Capacity <18, 18>: A max(2/18, 8/18) = 4/9; B max(6/18, 2/18) = 1/3. */
    int64_t cap2[2] = {18, 18};
    ck_assert_int_eq(cs_fair_set_capacity(f, cap2, 2), CS_OK);
    ck_assert_int_eq(cs_fair_dominant_share(f, 2, &d, NULL), CS_OK);
    ck_assert(d == 1.0 / 3.0);
    /* A resource with no capacity but an allocation: infinite share. */
    int64_t cap3[2] = {0, 18};
    ck_assert_int_eq(cs_fair_set_capacity(f, cap3, 2), CS_OK);
    ck_assert_int_eq(cs_fair_dominant_share(f, 1, &d, NULL), CS_OK);
    ck_assert(isinf(d));
    ck_assert_int_eq(cs_fair_dominant_share(f, 5, &d, NULL), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_fair_dominant_share(NULL, 1, &d, NULL), CS_ERR_INVALID);
    /* Tenants holding an allocation cannot be removed. */
    ck_assert_int_eq(cs_fair_remove_tenant(f, 1), CS_ERR_BUSY);
    int64_t rest[2] = {2, 8};
    ck_assert_int_eq(cs_fair_release(f, 1, rest, 2), CS_OK);
    ck_assert_int_eq(cs_fair_remove_tenant(f, 1), CS_OK);
    ck_assert_int_eq(cs_fair_remove_tenant(f, 1), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_fair_remove_tenant(NULL, 1), CS_ERR_INVALID);
    cs_fair_destroy(f);
}
END_TEST

START_TEST(bad_inputs_change_nothing)
{
    cs_fair *f = make_fair(10.0, 2);
    int64_t cap[2] = {100, 100}, v[2] = {10, 20};
    ck_assert_int_eq(cs_fair_set_capacity(f, cap, 2), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 1, 5.0, 10.0), CS_OK);
    ck_assert_int_eq(cs_fair_allocate(f, 1, v, 2), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 2, 3.0), CS_OK);
    snap s;
    take_snap(f, 10.0, 2, &s);

    /* charge */
    ck_assert_int_eq(cs_fair_charge(NULL, 1, 1.0, 11.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, CS_ID_NONE, 1.0, 11.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, 1, -1.0, 11.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, 1, DNAN, 11.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, 1, DINF, 11.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, 1, 1.0, DNAN), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, 1, 1.0, DINF), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_charge(f, 1, 1.0, 9.5), CS_ERR_INVALID); /* time backwards */
    ck_assert_int_eq(cs_fair_charge(f, 3, DBL_MAX, 10.0), CS_OK);
    snap s3;
    take_snap(f, 10.0, 2, &s3);
    ck_assert_int_eq(cs_fair_charge(f, 3, DBL_MAX, 10.0), CS_ERR_OVERFLOW);
    assert_same(f, 10.0, 2, &s3);
    ck_assert_int_eq(cs_fair_remove_tenant(f, 3), CS_OK);
    assert_same(f, 10.0, 2, &s);
    /* weights */
    ck_assert_int_eq(cs_fair_set_weight(NULL, 1, 1.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_weight(f, CS_ID_NONE, 1.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, 0.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, -2.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, DNAN), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, DINF), CS_ERR_INVALID);
    /* capacity */
    int64_t negcap[2] = {100, -1};
    ck_assert_int_eq(cs_fair_set_capacity(NULL, cap, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_capacity(f, NULL, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_set_capacity(f, cap, 3), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_fair_set_capacity(f, negcap, 2), CS_ERR_INVALID);
    /* allocate / release */
    int64_t neg[2] = {1, -1}, big[2] = {INT64_MAX, 0}, toomuch[2] = {11, 0};
    ck_assert_int_eq(cs_fair_allocate(NULL, 1, v, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_allocate(f, CS_ID_NONE, v, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_allocate(f, 1, NULL, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_allocate(f, 1, v, 1), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_fair_allocate(f, 1, neg, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_allocate(f, 1, big, 2), CS_ERR_OVERFLOW); /* 10 + INT64_MAX */
    ck_assert_int_eq(cs_fair_allocate(f, 4, neg, 2), CS_ERR_INVALID);  /* no tenant 4 made */
    ck_assert_int_eq(cs_fair_release(NULL, 1, v, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_release(f, 1, NULL, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_release(f, 1, v, 3), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_fair_release(f, 1, neg, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_release(f, 1, toomuch, 2), CS_ERR_INVALID); /* below zero */
    ck_assert_int_eq(cs_fair_release(f, 5, v, 2), CS_ERR_NOT_FOUND);
    int64_t out[2];
    ck_assert_int_eq(cs_fair_allocation(f, 1, NULL, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_allocation(f, 1, out, 1), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_fair_allocation(f, 5, out, 2), CS_ERR_NOT_FOUND);
    /* listing */
    uint64_t ids[1];
    size_t n = 0;
    ck_assert_int_eq(cs_fair_tenants(f, ids, 1, &n), CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(cs_fair_tenants(f, NULL, 1, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_tenants(f, ids, 1, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_fair_tenants(NULL, ids, 1, &n), CS_ERR_INVALID);
    assert_same(f, 10.0, 2, &s);
    /* The clock did not move: a charge at t = 10 is still accepted. */
    ck_assert_int_eq(cs_fair_charge(f, 1, 0.0, 10.0), CS_OK);
    cs_fair_destroy(f);

    /* Without resources DRF calls are dimension errors. */
    f = make_fair(10.0, 0);
    ck_assert_int_eq(cs_fair_allocate(f, 1, v, 0), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_fair_set_capacity(f, cap, 0), CS_OK);
    cs_fair_destroy(f);
}
END_TEST

START_TEST(tenant_listing)
{
    cs_fair *f = make_fair(10.0, 1);
    int64_t one[1] = {1};
    uint64_t ids[8];
    size_t n = 99;
    ck_assert_int_eq(cs_fair_tenants(f, NULL, 0, &n), CS_OK);
    ck_assert_uint_eq(n, 0);
    /* Created by first use, listed by increasing id. */
    ck_assert_int_eq(cs_fair_charge(f, 40, 1.0, 0.0), CS_OK);
    ck_assert_int_eq(cs_fair_allocate(f, 7, one, 1), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 1000, 2.0), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 3, 2.0), CS_OK);
    ck_assert_int_eq(cs_fair_tenants(f, ids, 8, &n), CS_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(ids[0] == 3 && ids[1] == 7 && ids[2] == 40 && ids[3] == 1000);
    ck_assert_int_eq(cs_fair_remove_tenant(f, 40), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 5, 1.0), CS_OK); /* reuses the slot */
    ck_assert_int_eq(cs_fair_tenants(f, ids, 8, &n), CS_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(ids[0] == 3 && ids[1] == 5 && ids[2] == 7 && ids[3] == 1000);
    double u;
    ck_assert_int_eq(cs_fair_usage(f, 5, 0.0, &u), CS_OK);
    ck_assert(u == 0.0); /* the removed tenant's usage did not leak */
    ck_assert_uint_eq(cs_fair_num_tenants(f), 4);

    /* Many tenants: the map and arrays grow; the usage total stays exact. */
    for (uint64_t id = 100; id < 400; id++)
        ck_assert_int_eq(cs_fair_charge(f, id, 2.0, 0.0), CS_OK);
    ck_assert_uint_eq(cs_fair_num_tenants(f), 304);
    /* Usage: tenant 100 holds 2 of 300 * 2 = 600 (tenant 40's 1 left with it).
     * Weights: 2 + 1 + 1 + 2 + 300 = 306. F = 2^-((2/600) / (1/306)). */
    double fac;
    ck_assert_int_eq(cs_fair_factor(f, 100, &fac), CS_OK);
    assert_close(fac, exp2(-(2.0 / 600.0) / (1.0 / 306.0)), 1e-14);
    cs_fair_destroy(f);
}
END_TEST

START_TEST(allocation_failures)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    cs_fair_options o;
    cs_fair_options_init(&o, sizeof o);
    o.num_resources = 2;
    o.half_life = 10.0;

    /* create */
    cs_fair *f = NULL;
    for (long k = 1;; k++) {
        test_alloc_fail_after(&ta, k);
        cs_status st = cs_fair_create(&o, &a, &f);
        if (st == CS_OK)
            break;
        ck_assert_int_eq(st, CS_ERR_NOMEM);
        ck_assert_ptr_null(f);
        ck_assert_int_eq(ta.live, 0);
    }
    test_alloc_fail_after(&ta, 0);
    int64_t cap[2] = {10, 10}, v[2] = {1, 2};
    ck_assert_int_eq(cs_fair_set_capacity(f, cap, 2), CS_OK);

    /* Each call that may create a tenant, for enough new tenants to make
     * every array and the map grow several times. */
    for (uint64_t id = 1; id <= 40; id++) {
        int which = (int)(id % 3);
        for (long k = 1;; k++) {
            snap before;
            take_snap(f, 5.0, 2, &before);
            test_alloc_fail_after(&ta, k);
            cs_status st = which == 0   ? cs_fair_charge(f, id, 1.0, 5.0)
                           : which == 1 ? cs_fair_allocate(f, id, v, 2)
                                        : cs_fair_set_weight(f, id, 2.0);
            test_alloc_fail_after(&ta, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            assert_same(f, 5.0, 2, &before);
        }
    }
    ck_assert_uint_eq(cs_fair_num_tenants(f), 40);
    cs_fair_destroy(f);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fair");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, options_and_create);
    tcase_add_test(tc, decay_closed_form);
    tcase_add_test(tc, decay_over_many_half_lives);
    tcase_add_test(tc, factor_closed_form);
    tcase_add_test(tc, dominant_shares);
    tcase_add_test(tc, bad_inputs_change_nothing);
    tcase_add_test(tc, tenant_listing);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
