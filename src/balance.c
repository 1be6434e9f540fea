/* Separable quadratic load balancing: the continuous quadratic knapsack
 * problem solved by breakpoint search, its exact integer version, and the
 * convenience forms (utilisation equalising, multi-resource, max-min).
 *
 * Problem: min sum w_i (x_i - t_i)^2, sum x_i = D, l_i <= x_i <= u_i.
 * KKT: x_i(mu) = clamp(t_i + mu / w_i, l_i, u_i), g(mu) = sum x_i(mu) = D.
 * Element i has breakpoints a_i = w_i (l_i - t_i) <= b_i = w_i (u_i - t_i):
 * x_i = l_i for mu <= a_i, u_i for mu >= b_i, linear in between.
 *
 * Search (Kiwiel 2008, with a sampled bracket first):
 * 1. For large n, a deterministic pseudo-random sample proposes a bracket
 *    (lo, hi) around mu* from the sample's own solutions at D -/+ 4 standard
 *    errors (Floyd-Rivest idea applied to g).
 * 2. One pass over the input classifies every element against (lo, hi):
 *    fixed at u (b <= lo), fixed at l (a >= hi), free on the whole bracket
 *    (a <= lo, b >= hi), or undetermined (a breakpoint inside): only these
 *    are copied into records. Fixed and free elements are folded into
 *    g(mu) = C + K mu on the bracket with compensated sums.
 * 3. The bracket is verified exactly: g(lo) <= D <= g(hi). If the sample
 *    misled it, the pass is redone on the correct side (rare).
 * 4. While many records remain, steps 1-3 repeat on the records; then the
 *    exact median of the breakpoints inside the bracket (quickselect) is the
 *    pivot, and each step at least halves the breakpoints left (Kiwiel).
 * 5. With the active set known, mu = (D - C) / K from the compensated sums,
 *    and a last pass writes x_i = clamp(t_i + mu / w_i, l_i, u_i).
 * Expected O(n): the sample costs O(s), the passes O(n), the records shrink
 * geometrically. Nothing here depends on the sample except the work done.
 */
#include "cloudsched/balance.h"

#include <float.h>
#include <math.h>

#include "internal.h"

/* ---- small numeric helpers ----------------------------------------- */

/* Compensated sum (Knuth's TwoSum, branch-free): the error of every
 * addition is accumulated in c, so s + c is the sum to about one rounding
 * regardless of n. Never add an infinity (the error term would be NaN). */
typedef struct csum {
    double s, c;
} csum;

static inline void csum_add(csum *k, double v)
{
    double t = k->s + v;
    double bv = t - k->s;
    k->c += (k->s - (t - bv)) + (v - bv);
    k->s = t;
}

static inline double csum_get(csum k)
{
    return k.s + k.c;
}

static const csum csum_zero = {0.0, 0.0};

/* splitmix64: the deterministic generator for samples and pivots; its state
 * lives on the caller's stack (no globals). */
static inline uint64_t rng_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline size_t rng_below(uint64_t *x, size_t n)
{
    return (size_t)(rng_next(x) % (uint64_t)n);
}

/* ---- the problem as strided arrays ------------------------------------ */

/* A NULL array of the public problem becomes a pointer to a constant with
 * stride 0, so that the passes need no per-element branches on NULL. */
static const double k_one = 1.0;
static const double k_zero = 0.0;
static const double k_ninf = -HUGE_VAL;
static const double k_pinf = HUGE_VAL;

typedef struct bal_view {
    const double *w, *t, *l, *u;
    size_t sw, st, sl, su;
} bal_view;

static bal_view view_make(const double *w, const double *t, const double *l,
                          const double *u)
{
    bal_view v;
    v.w = w != NULL ? w : &k_one;
    v.sw = w != NULL;
    v.t = t != NULL ? t : &k_zero;
    v.st = t != NULL;
    v.l = l != NULL ? l : &k_ninf;
    v.sl = l != NULL;
    v.u = u != NULL ? u : &k_pinf;
    v.su = u != NULL;
    return v;
}

/* One undetermined element: its breakpoints and what x_i(mu) needs. */
typedef struct bal_rec {
    double a, b, t, iw, l, u;
} bal_rec;

/* x_r(mu), branch-free (minsd/maxsd): breakpoint classes are random, and
 * the clamp differs from the exact bound only by a rounding near the
 * breakpoints, which g tolerates. */
static inline double rec_x(const bal_rec *r, double mu)
{
    double x = r->t + mu * r->iw;
    x = x > r->l ? x : r->l;
    return x < r->u ? x : r->u;
}

static inline bal_rec view_rec(const bal_view *v, size_t i)
{
    bal_rec r;
    double w = v->w[i * v->sw];
    r.t = v->t[i * v->st];
    r.l = v->l[i * v->sl];
    r.u = v->u[i * v->su];
    r.iw = 1.0 / w;
    r.a = w * (r.l - r.t);
    r.b = w * (r.u - r.t);
    return r;
}

static inline bool rec_valid(const bal_rec *r)
{
    /* Written so that NaN fails every test. */
    return r->iw > 0 && r->iw < HUGE_VAL && fabs(r->t) < HUGE_VAL && r->l <= r->u &&
           r->l < HUGE_VAL && r->u > -HUGE_VAL && !isnan(r->a) && !isnan(r->b);
}

/* ---- workspace --------------------------------------------------------- */

/* Heap items of the integer greedy (they reuse the breakpoint array). */
typedef struct bal_item {
    double key;
    size_t idx;
} bal_item;

struct cs_balance_workspace {
    cs_allocator alloc;
    size_t cap_core;  /* rec and bp hold this many elements */
    bal_rec *rec;     /* undetermined elements (and the sample) */
    double *bp;       /* 2 * cap_core breakpoints, or cap_core heap items */
    size_t cap_ext;   /* the arrays below hold this many elements */
    double *dw, *dt, *dl, *du; /* derived problems of the convenience forms */
    double *xc;       /* continuous solution for the integer solvers */
    int64_t *il, *iu; /* derived integer bounds */
    int64_t *yi;      /* integer solution before it is copied out */
};

cs_status cs_balance_workspace_create(const cs_allocator *allocator,
                                      cs_balance_workspace **out)
{
    if (out == NULL)
        return CS_ERR_INVALID;
    cs_allocator a;
    if (!cs__allocator_resolve(&a, allocator))
        return CS_ERR_INVALID;
    cs_balance_workspace *ws = cs__alloc(&a, sizeof *ws);
    if (ws == NULL)
        return CS_ERR_NOMEM;
    memset(ws, 0, sizeof *ws);
    ws->alloc = a;
    *out = ws;
    return CS_OK;
}

static void free_ext(cs_balance_workspace *ws)
{
    const cs_allocator *a = &ws->alloc;
    cs__free(a, ws->dw);
    cs__free(a, ws->dt);
    cs__free(a, ws->dl);
    cs__free(a, ws->du);
    cs__free(a, ws->xc);
    cs__free(a, ws->il);
    cs__free(a, ws->iu);
    cs__free(a, ws->yi);
}

void cs_balance_workspace_destroy(cs_balance_workspace *ws)
{
    if (ws == NULL)
        return;
    cs__free(&ws->alloc, ws->rec);
    cs__free(&ws->alloc, ws->bp);
    free_ext(ws);
    cs__free(&ws->alloc, ws);
}

/* Grow the core arrays (records, breakpoints) to hold n elements. All or
 * nothing: on failure the workspace keeps what it had. */
static cs_status reserve_core(cs_balance_workspace *ws, size_t n)
{
    if (n <= ws->cap_core)
        return CS_OK;
    size_t two_n;
    if (!cs__mul_size(n, 2, &two_n) || two_n > SIZE_MAX / sizeof(double) ||
        n > SIZE_MAX / sizeof(bal_rec))
        return CS_ERR_OVERFLOW;
    bal_rec *rec = cs__alloc_array(&ws->alloc, n, sizeof *rec);
    double *bp = cs__alloc_array(&ws->alloc, two_n, sizeof *bp);
    if (rec == NULL || bp == NULL) {
        cs__free(&ws->alloc, rec);
        cs__free(&ws->alloc, bp);
        return CS_ERR_NOMEM;
    }
    cs__free(&ws->alloc, ws->rec);
    cs__free(&ws->alloc, ws->bp);
    ws->rec = rec;
    ws->bp = bp;
    ws->cap_core = n;
    return CS_OK;
}

/* Grow the arrays of the integer and convenience solvers. */
static cs_status reserve_ext(cs_balance_workspace *ws, size_t n)
{
    if (n <= ws->cap_ext)
        return CS_OK;
    if (n > SIZE_MAX / sizeof(double))
        return CS_ERR_OVERFLOW;
    cs_balance_workspace t = *ws;
    const cs_allocator *a = &ws->alloc;
    t.dw = cs__alloc_array(a, n, sizeof(double));
    t.dt = cs__alloc_array(a, n, sizeof(double));
    t.dl = cs__alloc_array(a, n, sizeof(double));
    t.du = cs__alloc_array(a, n, sizeof(double));
    t.xc = cs__alloc_array(a, n, sizeof(double));
    t.il = cs__alloc_array(a, n, sizeof(int64_t));
    t.iu = cs__alloc_array(a, n, sizeof(int64_t));
    t.yi = cs__alloc_array(a, n, sizeof(int64_t));
    if (t.dw == NULL || t.dt == NULL || t.dl == NULL || t.du == NULL || t.xc == NULL ||
        t.il == NULL || t.iu == NULL || t.yi == NULL) {
        free_ext(&t);
        return CS_ERR_NOMEM;
    }
    free_ext(ws);
    t.cap_ext = n;
    *ws = t;
    return CS_OK;
}

cs_status cs_balance_workspace_reserve(cs_balance_workspace *ws, size_t n)
{
    if (ws == NULL)
        return CS_ERR_INVALID;
    if (n == 0)
        return CS_OK;
    /* Core first: if the extension then fails, the larger core is harmless
     * (scratch only), so the observable state is unchanged either way. */
    cs_status st = reserve_core(ws, n);
    if (st != CS_OK)
        return st;
    return reserve_ext(ws, n);
}

/* ---- public structs ---------------------------------------------------- */

static const cs_balance_problem problem_defaults = {
    .size = sizeof(cs_balance_problem),
};
static const cs_balance_int_problem int_problem_defaults = {
    .size = sizeof(cs_balance_int_problem),
};
static const cs_balance_result result_defaults = {
    .size = sizeof(cs_balance_result),
};

#define PROBLEM_MIN_SIZE sizeof(cs_balance_problem)
#define INT_PROBLEM_MIN_SIZE sizeof(cs_balance_int_problem)
#define RESULT_MIN_SIZE sizeof(cs_balance_result)

cs_status cs_balance_problem_init(cs_balance_problem *problem, size_t size)
{
    return cs__struct_init(problem, size, sizeof *problem, PROBLEM_MIN_SIZE,
                           &problem_defaults);
}

cs_status cs_balance_int_problem_init(cs_balance_int_problem *problem, size_t size)
{
    return cs__struct_init(problem, size, sizeof *problem, INT_PROBLEM_MIN_SIZE,
                           &int_problem_defaults);
}

cs_status cs_balance_result_init(cs_balance_result *result, size_t size)
{
    return cs__struct_init(result, size, sizeof *result, RESULT_MIN_SIZE,
                           &result_defaults);
}

/* Copy a full result into the caller's (possibly shorter) struct. */
static void result_export(cs_balance_result *dst, const cs_balance_result *src)
{
    if (dst == NULL || dst->size < RESULT_MIN_SIZE)
        return;
    size_t keep = dst->size;
    size_t bytes = keep < sizeof *src ? keep : sizeof *src;
    memcpy(dst, src, bytes);
    dst->size = keep;
}

/* ---- selection --------------------------------------------------------- */

/* k-th smallest of v[0..m) (0-based), reordering v. Quickselect with a
 * median-of-three pseudo-random pivot: expected O(m). The partitions are
 * branch-free (Lomuto with an unconditional swap and a counted advance), since
 * comparisons against the pivot are coin flips that a branch would
 * mispredict half the time. Runs of equal values are split off by a second
 * pass, so duplicates cost nothing extra. */
static double select_kth(double *v, size_t m, size_t k, uint64_t *rng)
{
    size_t lo = 0, hi = m; /* the answer is in v[lo..hi) */
    while (hi - lo > 16) {
        double p0 = v[lo + rng_below(rng, hi - lo)], p1 = v[lo + rng_below(rng, hi - lo)],
               p2 = v[lo + rng_below(rng, hi - lo)];
        double pivot = p0 < p1 ? (p1 < p2 ? p1 : (p0 < p2 ? p2 : p0))
                               : (p0 < p2 ? p0 : (p1 < p2 ? p2 : p1));
        size_t j = lo; /* [lo, j) < pivot */
        for (size_t i = lo; i < hi; i++) {
            double x = v[i];
            v[i] = v[j];
            v[j] = x;
            j += x < pivot;
        }
        if (k < j) {
            hi = j;
            continue;
        }
        size_t e = j; /* [j, e) == pivot */
        for (size_t i = j; i < hi; i++) {
            double x = v[i];
            v[i] = v[e];
            v[e] = x;
            e += x <= pivot;
        }
        if (k < e)
            return pivot;
        lo = e;
    }
    for (size_t i = lo + 1; i < hi; i++) { /* insertion sort of the rest */
        double x = v[i];
        size_t j = i;
        while (j > lo && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return v[k];
}

/* c ? x : 0 without a branch (compilers turn the ternary on doubles into a
 * jump, which mispredicts on random data). */
static inline double keep_if(bool c, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits &= (uint64_t)0 - (uint64_t)c;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* ---- g(mu) on a record set ---------------------------------------------- */

/* g(mu) = C + K mu + sum over records of x_r(mu), for mu in [-inf, +inf]. */
static double g_records(const bal_rec *r, size_t m, csum C, double K, double mu)
{
    if (mu == -HUGE_VAL || mu == HUGE_VAL) {
        if (K > 0)
            return mu;
        double inf_part = 0;
        for (size_t i = 0; i < m; i++) {
            double x = mu < 0 ? r[i].l : r[i].u;
            if (isinf(x))
                inf_part = x;
            else
                csum_add(&C, x);
        }
        return inf_part != 0 ? inf_part : csum_get(C);
    }
    csum_add(&C, K * mu);
    for (size_t i = 0; i < m; i++)
        csum_add(&C, rec_x(&r[i], mu));
    return csum_get(C);
}

/* Fold the records that have no breakpoint strictly inside (lo, hi) into
 * C and K, keep the others at the front; returns how many are kept. */
static size_t filter_records(bal_rec *r, size_t m, double lo, double hi, csum *C,
                             csum *K)
{
    size_t k = 0;
    csum c = *C, kk = *K;
    for (size_t i = 0; i < m; i++) {
        bal_rec e = r[i];
        /* Branch-free: the classes of successive records are random. The
         * record is always copied down; the count advances only if kept.
         * up, dn and fr are disjoint, so the three terms add to the one. */
        bool up = e.b <= lo, dn = e.a >= hi, fr = (e.a <= lo) & (e.b >= hi);
        csum_add(&c, keep_if(up, e.u) + keep_if(dn, e.l) + keep_if(fr, e.t));
        csum_add(&kk, keep_if(fr, e.iw));
        r[k] = e;
        k += !(up | dn | fr);
    }
    *C = c;
    *K = kk;
    return k;
}

/* Kiwiel's median-of-breakpoints search on the records, given that mu* lies
 * in [lo, hi] and g(mu) = C + K mu + sum_records x_r(mu) there. Leaves the
 * bracket with no breakpoint inside, so that g is linear on it, and returns
 * mu* from the compensated sums. Each step takes the median of the
 * breakpoints strictly inside the bracket as pivot, so the count of those
 * at least halves: O(m) expected with quickselect. */
static double kiwiel(bal_rec *r, size_t m, double *plo, double *phi, csum *C, csum *K,
                     double D, double *bp, uint64_t *rng, size_t *steps)
{
    double lo = *plo, hi = *phi;
    m = filter_records(r, m, lo, hi, C, K);
    while (m > 0) {
        size_t nb = 0;
        for (size_t i = 0; i < m; i++) { /* branch-free collection */
            double a = r[i].a, b = r[i].b;
            bp[nb] = a;
            nb += a > lo && a < hi;
            bp[nb] = b;
            nb += b > lo && b < hi;
        }
        if (nb == 0)
            break; /* cannot happen after filter_records; kept for safety */
        double p = select_kth(bp, nb, nb / 2, rng);
        double gp = g_records(r, m, *C, csum_get(*K), p);
        (*steps)++;
        if (gp < D)
            lo = p;
        else if (gp > D)
            hi = p;
        else
            lo = hi = p;
        m = filter_records(r, m, lo, hi, C, K);
    }
    *plo = lo;
    *phi = hi;
    double k = csum_get(*K);
    double mu;
    if (k > 0) {
        mu = (D - csum_get(*C)) / k;
        /* Rounding may push mu a hair outside; the active set says where it is. */
        if (mu < lo)
            mu = lo;
        if (mu > hi)
            mu = hi;
    } else {
        /* g is flat on the bracket (every element at a bound): any mu in it works. */
        mu = isfinite(lo) ? lo : (isfinite(hi) ? hi : 0.0);
    }
    return mu;
}

/* ---- sampled bracket ------------------------------------------------------ */

#define SAMPLE_MIN_N 2048       /* below this many, no sampling */
#define SAMPLE_MAX 65536        /* largest sample */
/* Standard errors on each side of the bracket. Narrower brackets leave
 * fewer elements to the exact search but fail (and cost a second pass)
 * more often: 2.5 gives about 1% failures under a normal approximation,
 * which measured best on the bench instance. */
#define SAMPLE_Z 2.5

/* Population sum of x over the sample solved for a target: the sample's
 * own breakpoint problem with g_s(mu) = (C + K mu) / scale + sum_S x_k(mu).
 * Returns false when the target is outside the sample's range. */
static bool sample_solve(const bal_rec *smp, size_t s, bal_rec *tmp, double *bp,
                         csum C, double K, double lo, double hi, double target,
                         uint64_t *rng, double *mu)
{
    double glo = g_records(smp, s, C, K, lo), ghi = g_records(smp, s, C, K, hi);
    if (!(target > glo && target < ghi))
        return false;
    memcpy(tmp, smp, s * sizeof *tmp);
    csum Kc = {K, 0};
    size_t steps = 0;
    *mu = kiwiel(tmp, s, &lo, &hi, &C, &Kc, target, bp, rng, &steps);
    return true;
}

/* Slope of g_s at mu: K plus 1 / w of the sample elements free there. */
static double sample_slope(const bal_rec *smp, size_t s, double K, double mu)
{
    double k = K;
    for (size_t i = 0; i < s; i++)
        k += keep_if(smp[i].a < mu && mu < smp[i].b, smp[i].iw);
    return k;
}

/* Propose (plo, phi) inside (lo, hi) from s sample records of a population
 * of m, with g = C + K mu + population sum. The sample estimates the
 * population sum by (m / s) sum_S x_k(mu), with standard error
 * (m / s) sqrt(s) sigma(mu); the bracket is where the sample's own function
 * crosses D -/+ SAMPLE_Z standard errors, found from its solution mu0 by
 * steps of (standard error / slope), doubled until they cross. Unchanged
 * (lo, hi) when the sample is not informative. */
static void propose_bracket(const bal_rec *smp, size_t s, size_t m, csum C, double K,
                            double D, bal_rec *tmp, double *bp, uint64_t *rng,
                            double *lo, double *hi)
{
    double scale = (double)s / (double)m;
    csum Cs = {C.s * scale, C.c * scale};
    double Ks = K * scale;
    double T = D * scale;
    double mu0;
    if (!sample_solve(smp, s, tmp, bp, Cs, Ks, *lo, *hi, T, rng, &mu0))
        return;
    double mean = 0, m2 = 0, absmax = 0;
    for (size_t k = 0; k < s; k++) { /* Welford */
        double x = rec_x(&smp[k], mu0);
        double d = x - mean;
        mean += d / (double)(k + 1);
        m2 += d * (x - mean);
        if (fabs(x) > absmax)
            absmax = fabs(x);
    }
    double sigma = sqrt(m2 / (double)s);
    double se = SAMPLE_Z * sqrt((double)s) * sigma;
    /* Never a zero-width bracket: rounding alone would then defeat it. */
    double floor_se = 1e-9 * ((double)s * absmax + fabs(T)) + DBL_MIN;
    if (se < floor_se)
        se = floor_se;
    double slope = sample_slope(smp, s, Ks, mu0);
    if (!(slope > 0))
        return;
    double plo = *lo, phi = *hi;
    for (int side = -1; side <= 1; side += 2) {
        double step = se / slope, target = T + side * se;
        for (int tries = 0; tries < 60; tries++, step *= 2) {
            double mu = mu0 + side * step;
            if (side < 0 && !(mu > *lo))
                break; /* keep the old end */
            if (side > 0 && !(mu < *hi))
                break;
            double g = g_records(smp, s, Cs, Ks, mu);
            if ((side < 0 && g <= target) || (side > 0 && g >= target)) {
                if (side < 0)
                    plo = mu;
                else
                    phi = mu;
                break;
            }
        }
    }
    if (plo < phi) {
        *lo = plo;
        *hi = phi;
    }
}

/* Sample size for a population of m: the exact search costs about the same
 * per record for the sample (s records) and for the elements the bracket
 * leaves (about c m / sqrt(s) of them), so s ~ m^(2/3) balances the two,
 * the classic Floyd-Rivest proportion; the factor 0.5 measured best. */
static size_t sample_size(size_t m)
{
    double c = cbrt(0.5 * (double)m);
    size_t s = (size_t)(c * c);
    return s > SAMPLE_MAX ? SAMPLE_MAX : (s > m / 4 ? m / 4 : s);
}

/* ---- passes over the input ---------------------------------------------------
 *
 * The two passes over all n elements are branch-free vector code (element
 * classes are random, and a branch per class would mispredict on a large
 * fraction of elements). src/balance_lanes.h holds them as a template; it
 * is instantiated for SSE2 (the x86-64 baseline) and AVX2 (chosen at run
 * time when the CPU has it), or for plain scalars elsewhere (define
 * CS_BALANCE_SCALAR to force that). All variants compute bit-identical
 * results (see the template's comment). */

typedef struct bal_final {
    csum sum;
    double objective, lsum, usum;
    size_t nl, nu, nf;
} bal_final;

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__SSE2__) && \
    (defined(__GNUC__) || defined(__clang__)) && !defined(CS_BALANCE_SCALAR)
#define BAL_X86 1
#include <immintrin.h>
#else
#define BAL_X86 0
#endif

#if BAL_X86
/* SSE2 */
#define LN(name) name##_sse2
#define LANES_FN __attribute__((unused))
#define LANES_INLINE static inline __attribute__((always_inline, unused))
#define VL 2
typedef __m128d vd;
typedef __m128d vm;
typedef __m128i vci;
#define V_SET(x) _mm_set1_pd(x)
#define V_LOADU(p) _mm_loadu_pd(p)
#define V_STOREU(p, v) _mm_storeu_pd((p), (v))
#define V_ADD(a, b) _mm_add_pd((a), (b))
#define V_SUB(a, b) _mm_sub_pd((a), (b))
#define V_MUL(a, b) _mm_mul_pd((a), (b))
#define V_DIV(a, b) _mm_div_pd((a), (b))
#define V_MIN(a, b) _mm_min_pd((a), (b))
#define V_MAX(a, b) _mm_max_pd((a), (b))
#define C_LE(a, b) _mm_cmple_pd((a), (b))
#define C_LT(a, b) _mm_cmplt_pd((a), (b))
#define M_AND(a, b) _mm_and_pd((a), (b))
#define M_OR(a, b) _mm_or_pd((a), (b))
#define M_ANDNOT(a, b) _mm_andnot_pd((a), (b))
#define M_ZERO _mm_setzero_pd()
#define M_ONES _mm_castsi128_pd(_mm_set1_epi32(-1))
#define M_BITS(m) _mm_movemask_pd(m)
#define V_MASK(m, x) _mm_and_pd((m), (x))
#define V_BLEND(m, x, y) _mm_or_pd(_mm_and_pd((m), (x)), _mm_andnot_pd((m), (y)))
#define CI_ZERO _mm_setzero_si128()
#define CI_ADD(c, m) _mm_sub_epi64((c), _mm_castpd_si128(m))
#define CI_STORE(p, c) _mm_storeu_si128((__m128i *)(void *)(p), (c))
#include "balance_lanes.h"
#undef LN
#undef LANES_FN
#undef VL
#undef V_SET
#undef V_LOADU
#undef V_STOREU
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_DIV
#undef V_MIN
#undef V_MAX
#undef C_LE
#undef C_LT
#undef M_AND
#undef M_OR
#undef M_ANDNOT
#undef M_ZERO
#undef M_ONES
#undef M_BITS
#undef V_MASK
#undef V_BLEND
#undef CI_ZERO
#undef CI_ADD
#undef CI_STORE

/* AVX2 */
#undef LANES_INLINE
#define LN(name) name##_avx2
#define LANES_FN __attribute__((target("avx2")))
#define LANES_INLINE static inline __attribute__((always_inline, target("avx2")))
#define VL 4
#define vd vd4
#define vm vm4
#define vci vci4
typedef __m256d vd4;
typedef __m256d vm4;
typedef __m256i vci4;
#define V_SET(x) _mm256_set1_pd(x)
#define V_LOADU(p) _mm256_loadu_pd(p)
#define V_STOREU(p, v) _mm256_storeu_pd((p), (v))
#define V_ADD(a, b) _mm256_add_pd((a), (b))
#define V_SUB(a, b) _mm256_sub_pd((a), (b))
#define V_MUL(a, b) _mm256_mul_pd((a), (b))
#define V_DIV(a, b) _mm256_div_pd((a), (b))
#define V_MIN(a, b) _mm256_min_pd((a), (b))
#define V_MAX(a, b) _mm256_max_pd((a), (b))
#define C_LE(a, b) _mm256_cmp_pd((a), (b), _CMP_LE_OQ)
#define C_LT(a, b) _mm256_cmp_pd((a), (b), _CMP_LT_OQ)
#define M_AND(a, b) _mm256_and_pd((a), (b))
#define M_OR(a, b) _mm256_or_pd((a), (b))
#define M_ANDNOT(a, b) _mm256_andnot_pd((a), (b))
#define M_ZERO _mm256_setzero_pd()
#define M_ONES _mm256_castsi256_pd(_mm256_set1_epi32(-1))
#define M_BITS(m) _mm256_movemask_pd(m)
#define V_MASK(m, x) _mm256_and_pd((m), (x))
#define V_BLEND(m, x, y) _mm256_blendv_pd((y), (x), (m))
#define CI_ZERO _mm256_setzero_si256()
#define CI_ADD(c, m) _mm256_sub_epi64((c), _mm256_castpd_si256(m))
#define CI_STORE(p, c) _mm256_storeu_si256((__m256i *)(void *)(p), (c))
#include "balance_lanes.h"
#undef vd
#undef vm
#undef vci

static bool bal_have_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}

static size_t classify_pass(const bal_view *v, size_t n, double lo, double hi,
                            bal_rec *restrict rec, csum *C, csum *K, int *bad)
{
    if (bal_have_avx2())
        return classify_pass_avx2(v, n, lo, hi, rec, C, K, bad);
    return classify_pass_sse2(v, n, lo, hi, rec, C, K, bad);
}

static void final_pass(const bal_view *v, size_t n, double mu, double *restrict x,
                       size_t xs, bal_final *f)
{
    if (bal_have_avx2())
        final_pass_avx2(v, n, mu, x, xs, f);
    else
        final_pass_sse2(v, n, mu, x, xs, f);
}

#else /* scalar lanes */
#define LN(name) name##_scalar
#define LANES_FN
#define LANES_INLINE static inline
#define VL 1
typedef double vd;
typedef int vm;
typedef int64_t vci;
#define V_SET(x) (x)
#define V_LOADU(p) (*(p))
#define V_STOREU(p, v) (*(p) = (v))
#define V_ADD(a, b) ((a) + (b))
#define V_SUB(a, b) ((a) - (b))
#define V_MUL(a, b) ((a) * (b))
#define V_DIV(a, b) ((a) / (b))
#define V_MIN(a, b) ((a) < (b) ? (a) : (b))
#define V_MAX(a, b) ((a) > (b) ? (a) : (b))
#define C_LE(a, b) ((a) <= (b))
#define C_LT(a, b) ((a) < (b))
#define M_AND(a, b) ((a) & (b))
#define M_OR(a, b) ((a) | (b))
#define M_ANDNOT(a, b) (!(a) & (b))
#define M_ZERO 0
#define M_ONES 1
#define M_BITS(m) (m)
#define V_MASK(m, x) ((m) ? (x) : 0.0)
#define V_BLEND(m, x, y) ((m) ? (x) : (y))
#define CI_ZERO 0
#define CI_ADD(c, m) ((c) + (m))
#define CI_STORE(p, c) (*(p) = (c))
#include "balance_lanes.h"

static size_t classify_pass(const bal_view *v, size_t n, double lo, double hi,
                            bal_rec *restrict rec, csum *C, csum *K, int *bad)
{
    return classify_pass_scalar(v, n, lo, hi, rec, C, K, bad);
}

static void final_pass(const bal_view *v, size_t n, double mu, double *restrict x,
                       size_t xs, bal_final *f)
{
    final_pass_scalar(v, n, mu, x, xs, f);
}
#endif

/* Error path only: sum the bounds exactly-ish and find min a, max b. */
static void bounds_pass(const bal_view *v, size_t n, double *lsum, double *usum,
                        double *amin, double *bmax)
{
    csum ls = csum_zero, us = csum_zero;
    bool linf = false, uinf = false;
    *amin = HUGE_VAL;
    *bmax = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        bal_rec r = view_rec(v, i);
        if (r.l == -HUGE_VAL)
            linf = true;
        else
            csum_add(&ls, r.l);
        if (r.u == HUGE_VAL)
            uinf = true;
        else
            csum_add(&us, r.u);
        *amin = r.a < *amin ? r.a : *amin;
        *bmax = r.b > *bmax ? r.b : *bmax;
    }
    *lsum = linf ? -HUGE_VAL : csum_get(ls);
    *usum = uinf ? HUGE_VAL : csum_get(us);
}

/* ---- the continuous solver ------------------------------------------------ */

/* While more records than this remain, another sampled bracket is tried
 * before the exact median search. */
#define RECORDS_SAMPLE_MIN 4096

/* Solve the problem described by v; x receives the solution. With `clip`,
 * a total above sum u means "as much as fits" (x = u) instead of
 * infeasible. `res` (full-size, internal) is always filled. */
static cs_status solve_core(cs_balance_workspace *ws, const bal_view *v, size_t n,
                            double D, bool clip, double *x, size_t xs,
                            cs_balance_result *res, double *mu_out)
{
    memset(res, 0, sizeof *res);
    res->size = sizeof *res;
    if (!isfinite(D))
        return CS_ERR_INVALID;
    cs_status st = reserve_core(ws, n < 1 ? 1 : n);
    if (st != CS_OK)
        return st;

    uint64_t rng = 0x5eed ^ (uint64_t)n;
    bal_rec *rec = ws->rec;
    double *bp = ws->bp;
    double lo = -HUGE_VAL, hi = HUGE_VAL;

    /* 1. Sampled bracket. */
    if (n >= SAMPLE_MIN_N) {
        size_t s = sample_size(n);
        bool ok = true;
        for (size_t k = 0; k < s && ok; k++) {
            rec[k] = view_rec(v, rng_below(&rng, n));
            ok = rec_valid(&rec[k]);
        }
        if (ok)
            propose_bracket(rec, s, n, csum_zero, 0.0, D, rec + s, bp, &rng, &lo, &hi);
    }

    /* 2. Classify against the bracket (and validate). */
    int bad = 0;
    csum C = csum_zero, K = csum_zero;
    size_t m = classify_pass(v, n, lo, hi, rec, &C, &K, &bad);
    res->passes = 1;
    if (bad)
        return CS_ERR_INVALID;

    /* 3. Verify the bracket exactly; redo the pass on the right side if the
     *    sample misled it. */
    bool below = lo > -HUGE_VAL && D < g_records(rec, m, C, csum_get(K), lo);
    bool above = !below && hi < HUGE_VAL && D > g_records(rec, m, C, csum_get(K), hi);
    if (below || above) {
        if (below) {
            hi = lo;
            lo = -HUGE_VAL;
        } else {
            lo = hi;
            hi = HUGE_VAL;
        }
        C = csum_zero;
        K = csum_zero;
        m = classify_pass(v, n, lo, hi, rec, &C, &K, &bad);
        res->passes = 2;
    }

    /* 4. Sampled brackets on the records while many remain. */
    while (m >= RECORDS_SAMPLE_MIN && m + 2 * sample_size(m) <= ws->cap_core) {
        size_t s = sample_size(m);
        bal_rec *smp = rec + m;
        for (size_t k = 0; k < s; k++)
            smp[k] = rec[rng_below(&rng, m)];
        double plo = lo, phi = hi;
        propose_bracket(smp, s, m, C, csum_get(K), D, smp + s, bp, &rng, &plo, &phi);
        if (plo == lo && phi == hi)
            break;
        /* Verify before committing: g at plo and phi over the records. */
        double Kv = csum_get(K);
        if (plo > -HUGE_VAL && D < g_records(rec, m, C, Kv, plo))
            hi = plo;
        else if (phi < HUGE_VAL && D > g_records(rec, m, C, Kv, phi))
            lo = phi;
        else {
            lo = plo;
            hi = phi;
        }
        size_t before = m;
        m = filter_records(rec, m, lo, hi, &C, &K);
        if (m * 2 > before)
            break; /* the sample is not helping; the exact search takes over */
    }

    /* 5. Exact median-of-breakpoints search on what is left. */
    size_t steps = 0;
    double mu = kiwiel(rec, m, &lo, &hi, &C, &K, D, bp, &rng, &steps);
    res->iterations = steps;

    /* Feasibility falls out of the search: if g is flat up to +inf (every
     * element at its upper bound) and still below D, D > sum u; likewise
     * below. The tolerance absorbs the rounding of the sums. */
    if (!(csum_get(K) > 0)) {
        double c = csum_get(C), tol = 8 * DBL_EPSILON * (fabs(c) + fabs(D));
        bool over = hi == HUGE_VAL && D > c + tol, under = lo == -HUGE_VAL && D < c - tol;
        if ((over && !clip) || under || (n == 0 && D != 0 && !clip)) {
            double amin, bmax;
            bounds_pass(v, n, &res->min_total, &res->max_total, &amin, &bmax);
            res->mu = n == 0 ? 0 : (over ? bmax : amin);
            return CS_ERR_INFEASIBLE;
        }
    }
    /* Overflow shows in the sums or the multiplier (a breakpoint beyond the
     * double range only matters if mu* gets there too). A finite mu keeps
     * every x_i finite: a free element has |mu / w_i| <= |mu| K = |D - C|. */
    if (!isfinite(mu) || !isfinite(csum_get(C)) || !isfinite(csum_get(K)))
        return CS_ERR_NUMERIC;
    *mu_out = mu;
    bal_final f;
    final_pass(v, n, mu, x, xs, &f);
    res->passes += 1;
    res->mu = mu;
    res->objective = f.objective;
    res->objective_continuous = f.objective;
    res->sum = csum_get(f.sum);
    res->min_total = f.lsum;
    res->max_total = f.usum;
    res->num_lower = f.nl;
    res->num_upper = f.nu;
    res->num_free = f.nf;
    return CS_OK;
}

cs_status cs_balance_solve(cs_balance_workspace *ws, const cs_balance_problem *problem,
                           double *x, cs_balance_result *result)
{
    cs_balance_problem p;
    if (ws == NULL || !cs__struct_import(&p, problem, sizeof p, PROBLEM_MIN_SIZE,
                                         &problem_defaults))
        return CS_ERR_INVALID;
    if (x == NULL && p.n > 0)
        return CS_ERR_INVALID;
    bal_view v = view_make(p.weight, p.target, p.lower, p.upper);
    cs_balance_result r;
    double mu;
    cs_status st = solve_core(ws, &v, p.n, p.total, false, x, 1, &r, &mu);
    if (st == CS_OK || st == CS_ERR_INFEASIBLE)
        result_export(result, &r);
    return st;
}

/* ---- the integer solver ---------------------------------------------------
 *
 * Problem: min F(y) = sum_i f_i(y_i), f_i(v) = w_i (v - t_i)^2, over the
 * integers with sum y = D and l_i <= y_i <= u_i. The marginal cost of the
 * unit from v to v + 1 is c_i(v) = f_i(v + 1) - f_i(v) = w_i (2 (v - t_i) + 1),
 * increasing in v because f_i is convex.
 *
 * Claim 1 (exchange optimality). A feasible y is optimal if
 *   (E)  c_i(y_i) >= c_j(y_j - 1)  for all i != j with y_i < u_i, y_j > l_j.
 * Proof: let z be feasible, P = {i: z_i > y_i}, N = {j: z_j < y_j}. Both move
 * the same number of units, k = sum_P (z_i - y_i) = sum_N (y_j - z_j). By
 * convexity each unit added on P costs at least the first one,
 * f_i(z_i) - f_i(y_i) >= (z_i - y_i) c_i(y_i), and each unit removed on N
 * saves at most the last one, f_j(z_j) - f_j(y_j) >= -(y_j - z_j) c_j(y_j - 1).
 * Summing, F(z) - F(y) >= k (min_P c_i(y_i) - max_N c_j(y_j - 1)) >= 0 by (E).
 * (The terms exist: y_i < z_i <= u_i on P and y_j > z_j >= l_j on N.)
 *
 * Claim 2 (greedy keeps (E)). Let y satisfy (E) and let i* minimise c_i(y_i)
 * over y_i < u_i. Then y + e_{i*} satisfies (E). Only pairs with i* change.
 * Raising i* again costs c_{i*}(y_{i*} + 1) >= c_{i*}(y_{i*}) >= c_j(y_j - 1)
 * (convexity, then (E)); lowering i* now saves c_{i*}(y_{i*}) <= c_i(y_i) for
 * every other raisable i (choice of i*). Symmetrically, removing the unit of
 * largest c_j(y_j - 1) keeps (E).
 *
 * Start. Let lambda = 2 mu, the common slope f_i'(x_i) of the free elements
 * at the continuous optimum, and y0_i the least v in [l_i, u_i] with
 * c_i(v) >= lambda (for a free element, c_i(v) >= lambda iff
 * v >= x_i - 1/2, so y0 rounds x to nearest). Then
 * c_i(y0_i) >= lambda > c_j(y0_j - 1) whenever both exist: y0 satisfies (E)
 * for its own total. Greedy steps (Claim 2) bring the total to D keeping
 * (E), and Claim 1 makes the result optimal. |D - sum y0| <= n_free / 2.
 *
 * Starting from floor(x) and only adding units, as is often suggested, is
 * optimal for equal weights but NOT in general: with unequal weights the
 * optimum may need y_j < floor(x_j) (tests/test_balance.c has a 5-element
 * case where it loses 7.9 of objective).
 *
 * Ties. Order all units by (cost, index). y0 takes exactly the units with
 * cost < lambda, the costs computed by the same expression as in the
 * greedy, so it is a prefix of that order; raising the least (cost, index)
 * and lowering the largest keep a prefix. The answer is the unique prefix of
 * length D - sum l: among equal marginal costs, lower indices get units
 * first.
 */

static inline double unit_cost(double w, double t, double v)
{
    return w * (2.0 * (v - t) + 1.0);
}

static inline bool item_before(const bal_item *a, const bal_item *b, bool maxheap)
{
    if (maxheap)
        return a->key > b->key || (a->key == b->key && a->idx > b->idx);
    return a->key < b->key || (a->key == b->key && a->idx < b->idx);
}

static void heap_sift_down(bal_item *h, size_t m, size_t i, bool maxheap)
{
    bal_item x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && item_before(&h[c + 1], &h[c], maxheap))
            c++;
        if (!item_before(&h[c], &x, maxheap))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void heap_build(bal_item *h, size_t m, bool maxheap)
{
    for (size_t i = m / 2; i-- > 0;)
        heap_sift_down(h, m, i, maxheap);
}

/* Integer bounds as strided arrays; INT64_MIN / INT64_MAX mean unbounded. */
static const int64_t k_imin = INT64_MIN;
static const int64_t k_imax = INT64_MAX;
static const int64_t k_izero = 0;

typedef struct bal_iview {
    const int64_t *l, *u;
    size_t sl, su;
} bal_iview;

static bool int_in_range(int64_t v)
{
    return v >= -CS_BALANCE_INT_MAX && v <= CS_BALANCE_INT_MAX;
}

/* The integer solver on views. `v` gives w and t (its bounds are ignored);
 * `b` the integer bounds. With `clip`, D above sum u means "as much as fits". */
static cs_status solve_int_core(cs_balance_workspace *ws, const bal_view *v,
                                const bal_iview *b, size_t n, int64_t D, bool clip,
                                int64_t *x, cs_balance_result *res)
{
    memset(res, 0, sizeof *res);
    res->size = sizeof *res;
    if (!int_in_range(D))
        return CS_ERR_INVALID;
    /* Validate and sum the bounds exactly. */
    int64_t lsum = 0, usum = 0;
    bool lunb = false, uunb = false, over = false, bad = false;
    for (size_t i = 0; i < n; i++) {
        int64_t l = b->l[i * b->sl], u = b->u[i * b->su];
        double w = v->w[i * v->sw], t = v->t[i * v->st];
        bad |= !(w > 0 && w < HUGE_VAL && fabs(t) < HUGE_VAL);
        if (l == INT64_MIN && b->sl == 0)
            lunb = true;
        else if (!int_in_range(l))
            bad = true;
        else
            over |= !cs__add_i64(lsum, l, &lsum);
        if (u == INT64_MAX && b->su == 0)
            uunb = true;
        else if (!int_in_range(u))
            bad = true;
        else
            over |= !cs__add_i64(usum, u, &usum);
        bad |= l > u;
    }
    if (bad)
        return CS_ERR_INVALID;
    if (over)
        return CS_ERR_OVERFLOW;
    res->min_total = lunb ? -HUGE_VAL : (double)lsum;
    res->max_total = uunb ? HUGE_VAL : (double)usum;
    if (clip && !uunb && D > usum)
        D = usum;
    if ((!lunb && D < lsum) || (!uunb && D > usum))
        return CS_ERR_INFEASIBLE;
    cs_status st = reserve_core(ws, n < 1 ? 1 : n);
    if (st == CS_OK)
        st = reserve_ext(ws, n < 1 ? 1 : n);
    if (st != CS_OK)
        return st;

    /* Continuous relaxation. */
    double *dl = ws->dl, *du = ws->du;
    for (size_t i = 0; i < n; i++) {
        int64_t l = b->l[i * b->sl], u = b->u[i * b->su];
        dl[i] = lunb ? -HUGE_VAL : (double)l;
        du[i] = uunb ? HUGE_VAL : (double)u;
    }
    bal_view cv = *v;
    cv.l = dl;
    cv.u = du;
    cv.sl = cv.su = 1;
    cs_balance_result cres;
    double mu;
    st = solve_core(ws, &cv, n, (double)D, false, ws->xc, 1, &cres, &mu);
    if (st != CS_OK)
        return st;

    /* Start: the units with marginal cost below lambda = 2 mu. */
    double lambda = 2.0 * mu;
    int64_t *y = ws->yi;
    int64_t ysum = 0;
    for (size_t i = 0; i < n; i++) {
        double w = v->w[i * v->sw], t = v->t[i * v->st];
        double l = dl[i], u = du[i];
        double yv;
        {
            yv = ceil(ws->xc[i] - 0.5);
            yv = yv < l ? l : (yv > u ? u : yv);
            if (!(fabs(yv) < (double)CS_BALANCE_INT_MAX))
                return CS_ERR_OVERFLOW;
            /* x is within a rounding of the threshold point: at most a step
             * or two to make y0 exactly "the units cheaper than lambda". */
            while (yv > l && unit_cost(w, t, yv - 1) >= lambda)
                yv -= 1;
            while (yv < u && unit_cost(w, t, yv) < lambda)
                yv += 1;
        }
        if (!(fabs(yv) <= (double)CS_BALANCE_INT_MAX))
            return CS_ERR_OVERFLOW;
        y[i] = (int64_t)yv;
        if (!cs__add_i64(ysum, y[i], &ysum))
            return CS_ERR_OVERFLOW;
    }

    /* Greedy to the exact total (Claim 2). */
    int64_t diff = D - ysum; /* |D|, |ysum| small enough: no overflow */
    bal_item *h = (bal_item *)(void *)ws->bp;
    bool down = diff < 0;
    size_t m = 0;
    for (size_t i = 0; i < n && diff != 0; i++) {
        double w = v->w[i * v->sw], t = v->t[i * v->st];
        double yv = (double)y[i];
        if (!down && yv < du[i])
            h[m++] = (bal_item){unit_cost(w, t, yv), i};
        else if (down && yv > dl[i])
            h[m++] = (bal_item){unit_cost(w, t, yv - 1), i};
    }
    heap_build(h, m, down);
    while (diff != 0 && m > 0) {
        size_t i = h[0].idx;
        double w = v->w[i * v->sw], t = v->t[i * v->st];
        bool more;
        if (!down) {
            y[i]++;
            diff--;
            more = (double)y[i] < du[i];
            h[0].key = unit_cost(w, t, (double)y[i]);
        } else {
            y[i]--;
            diff++;
            more = (double)y[i] > dl[i];
            h[0].key = unit_cost(w, t, (double)y[i] - 1);
        }
        if (!more)
            h[0] = h[--m];
        heap_sift_down(h, m, 0, down);
    }
    if (diff != 0)
        return CS_ERR_NUMERIC; /* cannot happen: D is within [sum l, sum u] */

    double obj = 0;
    csum ys = csum_zero;
    size_t nl = 0, nu = 0;
    for (size_t i = 0; i < n; i++) {
        double w = v->w[i * v->sw], t = v->t[i * v->st];
        double d = (double)y[i] - t;
        obj += w * d * d;
        csum_add(&ys, (double)y[i]);
        bool atl = (double)y[i] <= dl[i];
        nl += atl;
        nu += !atl && (double)y[i] >= du[i];
        x[i] = y[i];
    }
    *res = cres;
    res->mu = cres.mu;
    res->objective = obj;
    res->sum = csum_get(ys);
    res->num_lower = nl;
    res->num_upper = nu;
    res->num_free = n - nl - nu;
    return CS_OK;
}

cs_status cs_balance_solve_int(cs_balance_workspace *ws,
                               const cs_balance_int_problem *problem, int64_t *x,
                               cs_balance_result *result)
{
    cs_balance_int_problem p;
    if (ws == NULL || !cs__struct_import(&p, problem, sizeof p, INT_PROBLEM_MIN_SIZE,
                                         &int_problem_defaults))
        return CS_ERR_INVALID;
    if (x == NULL && p.n > 0)
        return CS_ERR_INVALID;
    bal_view v = view_make(p.weight, p.target, NULL, NULL);
    bal_iview b = {p.lower != NULL ? p.lower : &k_imin, p.upper != NULL ? p.upper : &k_imax,
                   p.lower != NULL, p.upper != NULL};
    cs_balance_result r;
    cs_status st = solve_int_core(ws, &v, &b, p.n, p.total, false, x, &r);
    if (st == CS_OK || st == CS_ERR_INFEASIBLE)
        result_export(result, &r);
    return st;
}

/* ---- max-min fairness ------------------------------------------------------ */

/* Fill ws->dw with 1 / weight_i, validating the weights. */
static cs_status inverse_weights(cs_balance_workspace *ws, size_t n, const double *weight)
{
    for (size_t i = 0; i < n; i++)
        if (!(weight[i] > 0 && weight[i] < HUGE_VAL))
            return CS_ERR_INVALID;
    cs_status st = reserve_ext(ws, n < 1 ? 1 : n);
    if (st != CS_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        ws->dw[i] = 1.0 / weight[i];
        if (!(ws->dw[i] > 0 && ws->dw[i] < HUGE_VAL))
            return CS_ERR_NUMERIC;
    }
    return CS_OK;
}

cs_status cs_balance_max_min(cs_balance_workspace *ws, size_t n, const double *demand,
                             const double *weight, double capacity, double *x,
                             cs_balance_result *result)
{
    if (ws == NULL || (n > 0 && (demand == NULL || x == NULL)) ||
        !(capacity >= 0 && capacity < HUGE_VAL))
        return CS_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!(demand[i] >= 0 && demand[i] < HUGE_VAL))
            return CS_ERR_INVALID;
    /* min sum x_i^2 / w_i: weights 1 / w_i, targets 0, bounds [0, d_i]. */
    if (weight != NULL) {
        cs_status st = inverse_weights(ws, n, weight);
        if (st != CS_OK)
            return st;
    }
    bal_view v = view_make(weight != NULL ? ws->dw : NULL, NULL, NULL, demand);
    v.l = &k_zero;
    cs_balance_result r;
    double mu;
    cs_status st = solve_core(ws, &v, n, capacity, true, x, 1, &r, &mu);
    if (st == CS_OK)
        result_export(result, &r);
    return st;
}

cs_status cs_balance_max_min_int(cs_balance_workspace *ws, size_t n,
                                 const int64_t *demand, const double *weight,
                                 int64_t capacity, int64_t *x, cs_balance_result *result)
{
    if (ws == NULL || (n > 0 && (demand == NULL || x == NULL)) || capacity < 0 ||
        capacity > CS_BALANCE_INT_MAX)
        return CS_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (demand[i] < 0 || demand[i] > CS_BALANCE_INT_MAX)
            return CS_ERR_INVALID;
    if (weight != NULL) {
        cs_status st = inverse_weights(ws, n, weight);
        if (st != CS_OK)
            return st;
    }
    bal_view v = view_make(weight != NULL ? ws->dw : NULL, NULL, NULL, NULL);
    bal_iview b = {&k_izero, demand, 0, 1};
    cs_balance_result r;
    cs_status st = solve_int_core(ws, &v, &b, n, capacity, true, x, &r);
    if (st == CS_OK)
        result_export(result, &r);
    return st;
}

/* ---- utilisation equalising and multi-resource --------------------------------
 *
 * Node i gets x_i units of a demand vector d (p dimensions). Dimension r of
 * node i then holds L_ir + x_i d_r of C_ir. Per dimension the objective is
 *   SQUARED: a_r ((L_ir + x_i d_r) / C_ir - rho_r)^2
 *          = a_r (d_r / C_ir)^2 (x_i - (rho_r C_ir - L_ir) / d_r)^2,
 *   LEVEL:   a_r (L_ir + x_i d_r)^2 / C_ir
 *          = a_r (d_r^2 / C_ir) (x_i + L_ir / d_r)^2,
 * i.e. f_ir (x_i - tau_ir)^2. Summed over r it is W_i (x_i - T_i)^2 + const
 * with W_i = sum_r f_ir and T_i = sum_r f_ir tau_ir / W_i: a separable
 * problem of the core form, with bounds 0 <= x_i <= min_r (C_ir - L_ir) / d_r.
 * The single-resource forms are p = 1, d = 1; the per-dimension form is
 * d = e_r.
 */

typedef struct multi_in {
    size_t n, p;
    const double *dload, *dcap, *dunit; /* double inputs, or */
    const int64_t *iload, *icap, *iunit; /* integer inputs */
    const double *dimw;
    cs_balance_mode mode;
    double units;
    size_t dim; /* < p: only this dimension, with d = 1 and weight 1 */
} multi_in;

static inline double m_load(const multi_in *m, size_t k)
{
    return m->dload != NULL ? m->dload[k] : (double)m->iload[k];
}

static inline double m_cap(const multi_in *m, size_t k)
{
    return m->dcap != NULL ? m->dcap[k] : (double)m->icap[k];
}

static inline double m_unit(const multi_in *m, size_t r)
{
    if (m->dim < m->p)
        return r == m->dim ? 1.0 : 0.0;
    return m->dunit != NULL ? m->dunit[r] : (double)m->iunit[r];
}

static inline double m_weight(const multi_in *m, size_t r)
{
    return m->dimw != NULL && m->dim >= m->p ? m->dimw[r] : 1.0;
}

/* Validate the inputs of a multi-resource form. */
static cs_status multi_check(const multi_in *m)
{
    if (m->p == 0 || (m->mode != CS_BALANCE_SQUARED && m->mode != CS_BALANCE_LEVEL))
        return CS_ERR_INVALID;
    if (m->n > 0 && ((m->dload == NULL && m->iload == NULL) ||
                     (m->dcap == NULL && m->icap == NULL)))
        return CS_ERR_INVALID;
    if (m->dunit == NULL && m->iunit == NULL && m->dim >= m->p)
        return CS_ERR_INVALID;
    bool weighted = false;
    for (size_t r = 0; r < m->p; r++) {
        double d = m_unit(m, r), a = m_weight(m, r);
        if (!(d >= 0 && d < HUGE_VAL) || !(a >= 0 && a < HUGE_VAL))
            return CS_ERR_INVALID;
        if (m->iunit != NULL && m->dim >= m->p && m->iunit[r] > CS_BALANCE_INT_MAX)
            return CS_ERR_INVALID;
        weighted |= d > 0 && a > 0;
    }
    if (!weighted)
        return CS_ERR_INVALID;
    size_t np;
    if (!cs__mul_size(m->n, m->p, &np))
        return CS_ERR_OVERFLOW;
    for (size_t k = 0; k < np; k++) {
        if (m->dload != NULL) {
            double L = m->dload[k], C = m->dcap[k];
            if (!(L >= 0 && L < HUGE_VAL) || !(C >= 0 && C < HUGE_VAL))
                return CS_ERR_INVALID;
        } else {
            int64_t L = m->iload[k], C = m->icap[k];
            if (L < 0 || C < 0 || L > CS_BALANCE_INT_MAX || C > CS_BALANCE_INT_MAX)
                return CS_ERR_INVALID;
        }
    }
    return CS_OK;
}

/* Build the derived problem into ws->dw, dt, dl (zeros) and du, and for
 * integer inputs the integer upper bounds into ws->iu. */
static cs_status multi_build(cs_balance_workspace *ws, const multi_in *m)
{
    size_t n = m->n, p = m->p;
    /* rho_r from exact sums (integers) or compensated ones. */
    for (size_t r = 0; r < p; r++) {
        if (m->iload != NULL) {
            int64_t sl = 0, sc = 0;
            for (size_t i = 0; i < n; i++)
                if (!cs__add_i64(sl, m->iload[i * p + r], &sl) ||
                    !cs__add_i64(sc, m->icap[i * p + r], &sc))
                    return CS_ERR_OVERFLOW;
        }
    }
    for (size_t i = 0; i < n; i++) {
        ws->dw[i] = 0;
        ws->dt[i] = 0;
        ws->dl[i] = 0;
        ws->du[i] = HUGE_VAL;
        ws->iu[i] = INT64_MAX;
    }
    for (size_t r = 0; r < p; r++) {
        double d = m_unit(m, r), a = m_weight(m, r);
        if (!(d > 0))
            continue;
        csum sl = csum_zero, sc = csum_zero;
        for (size_t i = 0; i < n; i++) {
            csum_add(&sl, m_load(m, i * p + r));
            csum_add(&sc, m_cap(m, i * p + r));
        }
        double rho = csum_get(sc) > 0 ? (csum_get(sl) + m->units * d) / csum_get(sc) : 0;
        for (size_t i = 0; i < n; i++) {
            double L = m_load(m, i * p + r), C = m_cap(m, i * p + r);
            if (!(C > 0)) {
                ws->du[i] = 0;
                ws->iu[i] = 0;
                continue;
            }
            double room = C - L;
            double ub = room > 0 ? room / d : 0;
            if (ub < ws->du[i])
                ws->du[i] = ub;
            if (m->iload != NULL) {
                int64_t iroom = m->icap[i * p + r] - m->iload[i * p + r];
                int64_t id = m->dim < p ? 1 : m->iunit[r];
                int64_t iub = iroom > 0 ? iroom / id : 0;
                if (iub < ws->iu[i])
                    ws->iu[i] = iub;
            }
            if (a > 0) {
                double f, tau;
                if (m->mode == CS_BALANCE_SQUARED) {
                    double q = d / C;
                    f = a * q * q;
                    tau = (rho * C - L) / d;
                } else {
                    f = a * d * d / C;
                    tau = -L / d;
                }
                ws->dw[i] += f;
                ws->dt[i] += f * tau;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ws->dw[i] > 0 && ws->du[i] > 0) {
            ws->dt[i] /= ws->dw[i];
        } else { /* the node takes nothing: any weight will do */
            ws->dw[i] = 1;
            ws->dt[i] = 0;
            ws->du[i] = 0;
            ws->iu[i] = 0;
        }
        if (!(ws->dw[i] < HUGE_VAL) || !(fabs(ws->dt[i]) < HUGE_VAL))
            return CS_ERR_NUMERIC;
    }
    return CS_OK;
}

/* Solve a multi-resource form, continuous (xd) or integer (xi). */
static cs_status multi_solve(cs_balance_workspace *ws, const multi_in *m, int64_t iunits,
                             double *xd, int64_t *xi, cs_balance_result *result)
{
    cs_status st = multi_check(m);
    if (st != CS_OK)
        return st;
    if (!(m->units >= 0 && m->units < HUGE_VAL))
        return CS_ERR_INVALID;
    if (m->n > 0 && xd == NULL && xi == NULL)
        return CS_ERR_INVALID;
    st = reserve_ext(ws, m->n < 1 ? 1 : m->n);
    if (st == CS_OK)
        st = multi_build(ws, m);
    if (st != CS_OK)
        return st;
    cs_balance_result r;
    bal_view v = view_make(ws->dw, ws->dt, ws->dl, ws->du);
    if (xi != NULL) {
        bal_iview b = {&k_izero, ws->iu, 0, 1};
        st = solve_int_core(ws, &v, &b, m->n, iunits, false, xi, &r);
    } else {
        double mu;
        st = solve_core(ws, &v, m->n, m->units, false, xd, 1, &r, &mu);
    }
    if (st == CS_OK || st == CS_ERR_INFEASIBLE)
        result_export(result, &r);
    return st;
}

cs_status cs_balance_multi(cs_balance_workspace *ws, size_t n, size_t p,
                           const double *load, const double *capacity,
                           const double *unit, const double *dim_weight, double units,
                           cs_balance_mode mode, double *x, cs_balance_result *result)
{
    if (ws == NULL || (n > 0 && x == NULL))
        return CS_ERR_INVALID;
    multi_in m = {n, p, load, capacity, unit, NULL, NULL, NULL, dim_weight, mode, units,
                  SIZE_MAX};
    return multi_solve(ws, &m, 0, x, NULL, result);
}

cs_status cs_balance_multi_int(cs_balance_workspace *ws, size_t n, size_t p,
                               const int64_t *load, const int64_t *capacity,
                               const int64_t *unit, const double *dim_weight,
                               int64_t units, cs_balance_mode mode, int64_t *x,
                               cs_balance_result *result)
{
    if (ws == NULL || (n > 0 && x == NULL) || unit == NULL || units < 0 ||
        units > CS_BALANCE_INT_MAX)
        return CS_ERR_INVALID;
    multi_in m = {n, p, NULL, NULL, NULL, load, capacity, unit, dim_weight, mode,
                  (double)units, SIZE_MAX};
    return multi_solve(ws, &m, units, NULL, x, result);
}

cs_status cs_balance_utilisation(cs_balance_workspace *ws, size_t n, const double *load,
                                 const double *capacity, double demand,
                                 cs_balance_mode mode, double *x,
                                 cs_balance_result *result)
{
    static const double one = 1.0;
    return cs_balance_multi(ws, n, 1, load, capacity, &one, NULL, demand, mode, x, result);
}

cs_status cs_balance_utilisation_int(cs_balance_workspace *ws, size_t n,
                                     const int64_t *load, const int64_t *capacity,
                                     int64_t demand, cs_balance_mode mode, int64_t *x,
                                     cs_balance_result *result)
{
    static const int64_t one = 1;
    return cs_balance_multi_int(ws, n, 1, load, capacity, &one, NULL, demand, mode, x,
                                result);
}

cs_status cs_balance_per_dimension(cs_balance_workspace *ws, size_t n, size_t p,
                                   const double *load, const double *capacity,
                                   const double *demand, cs_balance_mode mode, double *x,
                                   cs_balance_result *results)
{
    if (ws == NULL || p == 0 || demand == NULL || (n > 0 && x == NULL))
        return CS_ERR_INVALID;
    for (size_t r = 0; r < p; r++)
        if (!(demand[r] >= 0 && demand[r] < HUGE_VAL))
            return CS_ERR_INVALID;
    cs_status st = reserve_ext(ws, n < 1 ? 1 : n);
    if (st != CS_OK)
        return st;
    /* Phase 1 solves every dimension into scratch, so that nothing is
     * written to x unless all succeed; phase 2 repeats the same arithmetic
     * writing column r of x. */
    for (int phase = 1; phase <= 2; phase++) {
        for (size_t r = 0; r < p; r++) {
            multi_in m = {n, p, load, capacity, NULL, NULL, NULL, NULL, NULL, mode,
                          demand[r], r};
            cs_balance_result res;
            double mu;
            st = multi_check(&m);
            if (st == CS_OK)
                st = multi_build(ws, &m);
            bal_view v = view_make(ws->dw, ws->dt, ws->dl, ws->du);
            if (st == CS_OK) {
                double *out = phase == 1 ? ws->xc : x + r;
                st = solve_core(ws, &v, n, demand[r], false, out, phase == 1 ? 1 : p, &res,
                                &mu);
            }
            if (phase == 1 && results != NULL && (st == CS_OK || st == CS_ERR_INFEASIBLE))
                result_export(&results[r], &res);
            if (st != CS_OK)
                return st;
        }
    }
    return CS_OK;
}
