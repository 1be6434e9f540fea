/* Runtime predictor: exact recovery of a log-linear model, the fallback
 * rules by hand, the error band against a reference model written here
 * (batch ridge fits by modified Gram-Schmidt, data/reference_lsq.h, on every prefix of the data,
 * empirical quantile by sorting), per-key versus global models, forgetting,
 * estimate extension, bad input and allocation failure. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "data/reference_lsq.h"
#include "testutil.h"

#define INF ((double)INFINITY)
#define DNAN ((double)NAN)

static cs_predict_options popts(size_t nf, int est_feature, size_t min_samples, double ridge)
{
    cs_predict_options o;
    ck_assert_int_eq(cs_predict_options_init(&o, sizeof o), CS_OK);
    o.num_features = nf;
    o.estimate_feature = est_feature;
    o.min_samples = min_samples;
    o.ridge = ridge;
    return o;
}

static cs_predict_model_info info_of(const cs_predict *p, uint64_t key)
{
    cs_predict_model_info mi;
    ck_assert_int_eq(cs_predict_model_info_init(&mi, sizeof mi), CS_OK);
    ck_assert_int_eq(cs_predict_get_model_info(p, key, &mi), CS_OK);
    return mi;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(recovers_exact_log_linear_model)
{
    /* runtime = exp(0.5 + 0.3 f) * est^0.8 exactly, f = log(procs). */
    cs_predict_options o = popts(1, 1, 0, 1e-10);
    o.cap_at_estimate = 0;
    cs_predict *p;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    test_rng r;
    test_rng_seed(&r, 1);
    for (int i = 0; i < 40; i++) {
        double f = log(1.0 + (double)test_rng_below(&r, 64));
        double est = 60.0 * (1.0 + (double)test_rng_below(&r, 100));
        double rt = exp(0.5 + 0.3 * f + 0.8 * log(est));
        ck_assert_int_eq(cs_predict_observe(p, 42, &f, 1, est, rt), CS_OK);
    }
    /* default min_samples = 2 (dim + 1) = 2 * 4 = 8 */
    cs_predict_model_info mi = info_of(p, 42);
    ck_assert_uint_eq(mi.dim, 3);
    ck_assert_uint_eq(mi.samples, 40);
    ck_assert_int_eq(mi.ready, 1);
    ck_assert_uint_eq(mi.band_count, 32); /* residuals recorded from sample 9 on */
    ck_assert_uint_eq(mi.history_count, 2);
    double coef[3];
    size_t cnt;
    ck_assert_int_eq(cs_predict_coefficients(p, 42, coef, 3, &cnt), CS_OK);
    ck_assert_uint_eq(cnt, 3);
    ck_assert(fabs(coef[0] - 0.5) < 1e-6 && fabs(coef[1] - 0.3) < 1e-6 &&
              fabs(coef[2] - 0.8) < 1e-6);
    double f = log(8.0), est = 3600.0, e, u;
    cs_predict_source src;
    ck_assert_int_eq(cs_predict_estimate(p, 42, &f, 1, est, &e, &u, &src), CS_OK);
    double want = exp(0.5 + 0.3 * f) * pow(est, 0.8);
    ck_assert_int_eq(src, CS_PREDICT_SOURCE_MODEL);
    ck_assert(fabs(e - want) < 1e-6 * want);
    ck_assert(u >= e && u < want * (1.0 + 1e-6));
    ck_assert_str_eq(cs_predict_source_name(src), "model");
    /* the global model saw the same data */
    ck_assert_int_eq(cs_predict_estimate(p, 43, &f, 1, est, &e, &u, &src), CS_OK);
    ck_assert_int_eq(src, CS_PREDICT_SOURCE_GLOBAL);
    ck_assert(fabs(e - want) < 1e-6 * want);
    cs_predict_destroy(p);
}
END_TEST

START_TEST(fallback_rules_by_hand)
{
    cs_predict_options o = popts(0, 1, 0, 1e-3);
    cs_predict *p;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    double e = -1, u = -1;
    cs_predict_source src = (cs_predict_source)0;
    /* nothing known and no estimate */
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 0.0, &e, &u, &src), CS_ERR_NOT_FOUND);
    ck_assert(e == -1 && u == -1 && src == 0);
    /* user estimate only */
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 900.0, &e, &u, &src), CS_OK);
    ck_assert(e == 900.0 && u == 900.0 && src == CS_PREDICT_SOURCE_USER);
    /* history: 100, then 300, then 500 (no estimate: models cannot learn) */
    ck_assert_int_eq(cs_predict_observe(p, 7, NULL, 0, 0.0, 100.0), CS_OK);
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 900.0, &e, &u, &src), CS_OK);
    ck_assert(e == 100.0 && u == 100.0 && src == CS_PREDICT_SOURCE_HISTORY);
    ck_assert_int_eq(cs_predict_observe(p, 7, NULL, 0, 0.0, 300.0), CS_OK);
    ck_assert_int_eq(cs_predict_observe(p, 7, NULL, 0, 0.0, 500.0), CS_OK);
    /* mean of the last two: (300 + 500) / 2 = 400, upper = max = 500 */
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 900.0, &e, &u, &src), CS_OK);
    ck_assert(e == 400.0 && u == 500.0 && src == CS_PREDICT_SOURCE_HISTORY);
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 0.0, &e, &u, &src), CS_OK);
    ck_assert(e == 400.0 && u == 500.0);
    /* capped by a smaller user estimate: min(400, 350), min(500, 350) */
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 350.0, &e, &u, &src), CS_OK);
    ck_assert(e == 350.0 && u == 350.0 && src == CS_PREDICT_SOURCE_HISTORY);
    /* another key has no history: the user estimate */
    ck_assert_int_eq(cs_predict_estimate(p, 8, NULL, 0, 120.0, &e, &u, &src), CS_OK);
    ck_assert(e == 120.0 && src == CS_PREDICT_SOURCE_USER);
    ck_assert_uint_eq(cs_predict_num_keys(p), 1);
    cs_predict_model_info mi = info_of(p, 7);
    ck_assert_uint_eq(mi.samples, 0); /* no estimate: the model did not learn */
    ck_assert_int_eq(cs_predict_get_model_info(p, 8, &mi), CS_ERR_NOT_FOUND);
    double c[2];
    size_t cnt = 0;
    ck_assert_int_eq(cs_predict_coefficients(p, 7, c, 2, &cnt), CS_ERR_STATE);
    ck_assert_int_eq(cs_predict_coefficients(p, 7, c, 1, &cnt), CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(cnt, 2);
    ck_assert_int_eq(cs_predict_coefficients(p, 99, c, 2, &cnt), CS_ERR_NOT_FOUND);
    cs_predict_destroy(p);

    /* FALLBACK_USER: the estimate first, the history only without one */
    o.fallback = CS_PREDICT_FALLBACK_USER;
    o.cap_at_estimate = 0;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    ck_assert_int_eq(cs_predict_observe(p, 7, NULL, 0, 0.0, 100.0), CS_OK);
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 60.0, &e, &u, &src), CS_OK);
    ck_assert(e == 60.0 && src == CS_PREDICT_SOURCE_USER);
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 0.0, &e, &u, &src), CS_OK);
    ck_assert(e == 100.0 && src == CS_PREDICT_SOURCE_HISTORY);
    /* upper bound and source are optional */
    ck_assert_int_eq(cs_predict_estimate(p, 7, NULL, 0, 0.0, &e, NULL, NULL), CS_OK);
    cs_predict_destroy(p);
}
END_TEST

START_TEST(missing_features_fall_back)
{
    cs_predict_options o = popts(2, 0, 3, 1e-3);
    cs_predict *p;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    const double f[2] = {1.0, 2.0};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(cs_predict_observe(p, 1, f, 2, 0.0, 50.0), CS_OK);
    double e, u;
    cs_predict_source src;
    ck_assert_int_eq(cs_predict_estimate(p, 1, f, 2, 0.0, &e, &u, &src), CS_OK);
    ck_assert_int_eq(src, CS_PREDICT_SOURCE_MODEL);
    ck_assert(fabs(e - 50.0) < 0.5);
    /* features unknown for this task: the history (50, 50) */
    ck_assert_int_eq(cs_predict_estimate(p, 1, NULL, 0, 0.0, &e, &u, &src), CS_OK);
    ck_assert(src == CS_PREDICT_SOURCE_HISTORY && e == 50.0);
    /* an observation without features teaches only the history */
    ck_assert_int_eq(cs_predict_observe(p, 1, NULL, 0, 0.0, 70.0), CS_OK);
    ck_assert_uint_eq(info_of(p, 1).samples, 5);
    ck_assert_uint_eq(info_of(p, CS_ID_NONE).samples, 5);
    ck_assert_int_eq(cs_predict_estimate(p, 1, NULL, 0, 0.0, &e, &u, &src), CS_OK);
    ck_assert(e == 60.0 && u == 70.0);
    cs_predict_destroy(p);
}
END_TEST

START_TEST(error_band_matches_reference_model)
{
    /* Noisy data for one key. The reference refits, before each observation,
     * the ridge problem on all earlier observations (MGS), records the
     * out-of-sample log residual once min_samples earlier observations
     * exist, and takes the type-7 empirical quantile of the last `window`. */
    const size_t n = 70, d = 3, window = 16, min_s = 6;
    const double mu = 0.05, tau = 0.8;
    cs_predict_options o = popts(1, 1, min_s, mu);
    o.band_window = window;
    o.quantile = tau;
    o.cap_at_estimate = 0;
    o.use_global = 0;
    cs_predict *p;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    test_rng r;
    test_rng_seed(&r, 2);
    double V[70 * 3], t[70], res[70];
    size_t nres = 0;
    for (size_t k = 0; k < n; k++) {
        double f = 0.1 * (double)test_rng_below(&r, 30);
        double est = 100.0 + 10.0 * (double)test_rng_below(&r, 50);
        double rt = exp(1.0 + 0.2 * f + 0.7 * log(est) + 0.3 * test_rng_normal(&r));
        V[k * d] = 1.0;
        V[k * d + 1] = f;
        V[k * d + 2] = log(est);
        t[k] = log(rt);
        if (k >= min_s) {
            double b[3];
            ref_ridge_lstsq(k, d, V, t, mu, b);
            res[nres++] = t[k] - (V[k * d] * b[0] + V[k * d + 1] * b[1] + V[k * d + 2] * b[2]);
        }
        ck_assert_int_eq(cs_predict_observe(p, 5, &f, 1, est, rt), CS_OK);
    }
    double b[3];
    ref_ridge_lstsq(n, d, V, t, mu, b);
    double c[3];
    size_t cnt;
    ck_assert_int_eq(cs_predict_coefficients(p, 5, c, 3, &cnt), CS_OK);
    for (size_t j = 0; j < d; j++)
        ck_assert(fabs(c[j] - b[j]) < 1e-9 * (1.0 + fabs(b[j])));
    /* quantile of the last 16 residuals: h = 15 * 0.8 = 12 -> the 13th smallest */
    double last[16];
    memcpy(last, res + nres - window, sizeof last);
    qsort(last, window, sizeof(double), cmp_d);
    double q = last[12];
    double f = 1.5, est = 400.0, e, u;
    cs_predict_source src;
    ck_assert_int_eq(cs_predict_estimate(p, 5, &f, 1, est, &e, &u, &src), CS_OK);
    double mu_hat = b[0] + b[1] * f + b[2] * log(est);
    ck_assert(fabs(e - exp(mu_hat)) < 1e-8 * exp(mu_hat));
    ck_assert_msg(fabs(u - exp(mu_hat + q)) < 1e-8 * exp(mu_hat + q), "upper %g want %g", u,
                  exp(mu_hat + q));
    ck_assert(q > 0.0 && u > e);
    ck_assert_uint_eq(info_of(p, 5).band_count, window);
    /* with the cap, both are clipped by a small user estimate */
    cs_predict_destroy(p);
}
END_TEST

START_TEST(per_key_models_and_pooled_global)
{
    /* Key 1: log rt = 2 + 0.5 f; key 2: log rt = 4 - 0.5 f. The global
     * model is the ridge fit of the pooled data (checked by MGS); a key with
     * too few samples uses it. */
    cs_predict_options o = popts(1, 0, 5, 1e-3);
    cs_predict *p;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    double V[60 * 2], t[60];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        for (uint64_t key = 1; key <= 3; key++) {
            if (key == 3 && i >= 3)
                continue;
            double f = (double)(i % 7);
            double lt = key == 1 ? 2.0 + 0.5 * f : key == 2 ? 4.0 - 0.5 * f : 3.0;
            ck_assert_int_eq(cs_predict_observe(p, key, &f, 1, 0.0, exp(lt)), CS_OK);
            V[n * 2] = 1.0;
            V[n * 2 + 1] = f;
            t[n++] = lt;
        }
    }
    double f = 3.0, e, u;
    cs_predict_source src;
    ck_assert_int_eq(cs_predict_estimate(p, 1, &f, 1, 0.0, &e, &u, &src), CS_OK);
    ck_assert(src == CS_PREDICT_SOURCE_MODEL && fabs(log(e) - 3.5) < 1e-3);
    ck_assert_int_eq(cs_predict_estimate(p, 2, &f, 1, 0.0, &e, &u, &src), CS_OK);
    ck_assert(src == CS_PREDICT_SOURCE_MODEL && fabs(log(e) - 2.5) < 1e-3);
    double g[2], c[2];
    ref_ridge_lstsq(n, 2, V, t, 1e-3, g);
    size_t cnt;
    ck_assert_int_eq(cs_predict_coefficients(p, CS_ID_NONE, c, 2, &cnt), CS_OK);
    ck_assert(fabs(c[0] - g[0]) < 1e-9 && fabs(c[1] - g[1]) < 1e-9);
    ck_assert_int_eq(cs_predict_estimate(p, 3, &f, 1, 0.0, &e, &u, &src), CS_OK);
    ck_assert_int_eq(src, CS_PREDICT_SOURCE_GLOBAL);
    ck_assert(fabs(log(e) - (g[0] + g[1] * f)) < 1e-9);
    ck_assert_int_eq(info_of(p, 3).ready, 0);
    ck_assert_uint_eq(info_of(p, CS_ID_NONE).samples, n);
    ck_assert_uint_eq(info_of(p, CS_ID_NONE).history_count, 0);
    cs_predict_destroy(p);

    /* without the global model the new key falls back to its history */
    o.use_global = 0;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(cs_predict_observe(p, 1, &f, 1, 0.0, 10.0), CS_OK);
    ck_assert_int_eq(cs_predict_observe(p, 2, &f, 1, 0.0, 30.0), CS_OK);
    ck_assert_int_eq(cs_predict_estimate(p, 2, &f, 1, 0.0, &e, &u, &src), CS_OK);
    ck_assert(src == CS_PREDICT_SOURCE_HISTORY && e == 30.0);
    ck_assert_int_eq(info_of(p, CS_ID_NONE).samples, 0);
    cs_predict_destroy(p);
}
END_TEST

START_TEST(forgetting_adapts_to_a_level_change)
{
    /* Runtimes of one key jump from e^3 to e^5. With lambda = 0.9 the weight
     * of the old regime after 200 new samples is 0.9^200 ~ 7e-10: the log
     * prediction is within 1e-6 of 5; without forgetting it is the average
     * of both regimes, 4. */
    for (int forget = 0; forget < 2; forget++) {
        cs_predict_options o = popts(0, 0, 4, 1e-9);
        o.forgetting = forget ? 0.9 : 1.0;
        cs_predict *p;
        ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
        for (int i = 0; i < 200; i++)
            ck_assert_int_eq(cs_predict_observe(p, 9, NULL, 0, 0.0, exp(3.0)), CS_OK);
        for (int i = 0; i < 200; i++)
            ck_assert_int_eq(cs_predict_observe(p, 9, NULL, 0, 0.0, exp(5.0)), CS_OK);
        double e;
        cs_predict_source src;
        ck_assert_int_eq(cs_predict_estimate(p, 9, NULL, 0, 0.0, &e, NULL, &src), CS_OK);
        ck_assert_int_eq(src, CS_PREDICT_SOURCE_MODEL);
        if (forget)
            ck_assert_msg(fabs(log(e) - 5.0) < 1e-6, "%g", log(e));
        else
            ck_assert(fabs(log(e) - 4.0) < 1e-6);
        cs_predict_destroy(p);
    }
}
END_TEST

START_TEST(extend_by_hand)
{
    double out = 0;
    /* 100 < 150: doubled once -> 200 */
    ck_assert_int_eq(cs_predict_extend(100, 150, 0, &out), CS_OK);
    ck_assert(out == 200);
    /* still ahead: unchanged */
    ck_assert_int_eq(cs_predict_extend(100, 50, 0, &out), CS_OK);
    ck_assert(out == 100);
    /* 100 -> 200 -> 400 -> 800 > 450 */
    ck_assert_int_eq(cs_predict_extend(100, 450, 0, &out), CS_OK);
    ck_assert(out == 800);
    /* the user estimate 180 is still ahead of 150 and below 200: use it */
    ck_assert_int_eq(cs_predict_extend(100, 150, 180, &out), CS_OK);
    ck_assert(out == 180);
    /* the user estimate 120 is already exceeded: doubling alone */
    ck_assert_int_eq(cs_predict_extend(100, 150, 120, &out), CS_OK);
    ck_assert(out == 200);
    /* elapsed equal to the estimate is "outlived" */
    ck_assert_int_eq(cs_predict_extend(100, 100, 0, &out), CS_OK);
    ck_assert(out == 200);
    out = 7;
    ck_assert_int_eq(cs_predict_extend(0, 1, 0, &out), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_extend(DNAN, 1, 0, &out), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_extend(1, -1, 0, &out), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_extend(1, 1, -1, &out), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_extend(1, INF, 0, &out), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_extend(1, 1, 0, NULL), CS_ERR_INVALID);
    ck_assert(out == 7);
}
END_TEST

START_TEST(many_keys_and_determinism)
{
    /* 3000 keys with their own histories (the key table grows many times);
     * two predictors fed the same stream in different key orders agree.
     * (No global model: with two samples per key the history answers.) */
    cs_predict_options o = popts(0, 0, 0, 1e-3);
    o.use_global = 0;
    cs_predict *a, *b;
    ck_assert_int_eq(cs_predict_create(&o, NULL, &a), CS_OK);
    ck_assert_int_eq(cs_predict_create(&o, NULL, &b), CS_OK);
    const uint64_t nk = 3000;
    for (uint64_t k = 0; k < nk; k++) {
        uint64_t key = k * 0x9e3779b97f4a7c15ULL; /* spread over the 64-bit range */
        ck_assert_int_eq(cs_predict_observe(a, key, NULL, 0, 0.0, (double)k), CS_OK);
        ck_assert_int_eq(cs_predict_observe(a, key, NULL, 0, 0.0, (double)k + 2.0), CS_OK);
    }
    for (uint64_t k = nk; k-- > 0;) {
        uint64_t key = k * 0x9e3779b97f4a7c15ULL;
        ck_assert_int_eq(cs_predict_observe(b, key, NULL, 0, 0.0, (double)k), CS_OK);
        ck_assert_int_eq(cs_predict_observe(b, key, NULL, 0, 0.0, (double)k + 2.0), CS_OK);
    }
    ck_assert_uint_eq(cs_predict_num_keys(a), nk);
    ck_assert_uint_eq(cs_predict_num_keys(b), nk);
    for (uint64_t k = 0; k < nk; k++) {
        uint64_t key = k * 0x9e3779b97f4a7c15ULL;
        double ea, eb, ua, ub;
        cs_predict_source sa, sb;
        ck_assert_int_eq(cs_predict_estimate(a, key, NULL, 0, 0.0, &ea, &ua, &sa), CS_OK);
        ck_assert_int_eq(cs_predict_estimate(b, key, NULL, 0, 0.0, &eb, &ub, &sb), CS_OK);
        /* mean of k and k + 2 */
        ck_assert(ea == (double)k + 1.0 && ua == (double)k + 2.0);
        ck_assert(ea == eb && ua == ub && sa == sb);
    }
    cs_predict_destroy(a);
    cs_predict_destroy(b);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
    cs_predict *p;
    cs_predict_options o = popts(1, 1, 2, 1e-3);
    ck_assert_int_eq(cs_predict_create(&o, NULL, NULL), CS_ERR_INVALID);
    cs_predict_options bad = o;
    bad.num_features = CS_PREDICT_MAX_FEATURES + 1;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.forgetting = 0.0;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.ridge = -1.0;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.quantile = 1.0;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.band_window = 0;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.fallback = (cs_predict_fallback)5;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.min_value = 0.0;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);
    bad = o;
    bad.size = 2;
    ck_assert_int_eq(cs_predict_create(&bad, NULL, &p), CS_ERR_INVALID);

    ck_assert_int_eq(cs_predict_create(&o, NULL, &p), CS_OK);
    const double f = 2.0, fn = DNAN;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(cs_predict_observe(p, 1, &f, 1, 100.0 + i, 50.0 + i), CS_OK);
    cs_predict_model_info before = info_of(p, 1), gbefore = info_of(p, CS_ID_NONE);
    double e0, u0;
    cs_predict_source s0;
    ck_assert_int_eq(cs_predict_estimate(p, 1, &f, 1, 120.0, &e0, &u0, &s0), CS_OK);

    ck_assert_int_eq(cs_predict_observe(NULL, 1, &f, 1, 100, 50), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, CS_ID_NONE, &f, 1, 100, 50), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, 1, &fn, 1, 100, 50), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, 1, &f, 1, -1, 50), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, 1, &f, 1, DNAN, 50), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, 1, &f, 1, 100, -1), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, 1, &f, 1, 100, INF), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_observe(p, 2, &fn, 1, 100, 50), CS_ERR_INVALID);
    /* a feature count that is not the predictor's */
    const double f2[2] = {2.0, 3.0};
    ck_assert_int_eq(cs_predict_observe(p, 1, f2, 2, 100, 50), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_predict_observe(p, 3, f2, 0, 100, 50), CS_ERR_DIMENSION);
    /* NULL features: unknown, the count is ignored */
    double e_hist;
    ck_assert_int_eq(cs_predict_estimate(p, 1, NULL, 5, 100, &e_hist, NULL, NULL), CS_OK);
    ck_assert(e_hist == 0.5 * (54.0 + 55.0)); /* the last two observed values */
    ck_assert_uint_eq(cs_predict_num_keys(p), 1); /* the rejected key 2 was not added */

    double e = 3, u = 3;
    ck_assert_int_eq(cs_predict_estimate(NULL, 1, &f, 1, 100, &e, &u, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_estimate(p, CS_ID_NONE, &f, 1, 100, &e, &u, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_estimate(p, 1, &fn, 1, 100, &e, &u, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_estimate(p, 1, f2, 2, 100, &e, &u, NULL), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_predict_estimate(p, 1, &f, 1, -5, &e, &u, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_estimate(p, 1, &f, 1, 100, NULL, &u, NULL), CS_ERR_INVALID);
    ck_assert(e == 3 && u == 3);
    cs_predict_model_info mi;
    ck_assert_int_eq(cs_predict_model_info_init(&mi, sizeof mi), CS_OK);
    mi.size = 1;
    ck_assert_int_eq(cs_predict_get_model_info(p, 1, &mi), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_get_model_info(NULL, 1, &mi), CS_ERR_INVALID);
    size_t cnt;
    ck_assert_int_eq(cs_predict_coefficients(p, 1, NULL, 3, &cnt), CS_ERR_INVALID);
    ck_assert_int_eq(cs_predict_coefficients(p, 1, NULL, 0, NULL), CS_ERR_INVALID);
    ck_assert_uint_eq(cs_predict_num_keys(NULL), 0);
    ck_assert_str_eq(cs_predict_source_name((cs_predict_source)0), "unknown");

    cs_predict_model_info after = info_of(p, 1), gafter = info_of(p, CS_ID_NONE);
    ck_assert(memcmp(&before, &after, sizeof before) == 0);
    ck_assert(memcmp(&gbefore, &gafter, sizeof gbefore) == 0);
    double e1, u1;
    cs_predict_source s1;
    ck_assert_int_eq(cs_predict_estimate(p, 1, &f, 1, 120.0, &e1, &u1, &s1), CS_OK);
    ck_assert(e0 == e1 && u0 == u1 && s0 == s1);
    cs_predict_destroy(p);
    cs_predict_destroy(NULL);
}
END_TEST

START_TEST(alloc_failure_create_and_new_keys)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    cs_predict_options o = popts(1, 0, 2, 1e-3);
    cs_predict *p = NULL;
    for (long k = 1;; k++) {
        test_alloc_fail_after(&ta, k);
        cs_status st = cs_predict_create(&o, &a, &p);
        test_alloc_fail_after(&ta, 0);
        if (st == CS_OK)
            break;
        ck_assert_int_eq(st, CS_ERR_NOMEM);
        ck_assert(p == NULL);
        ck_assert_int_eq(ta.live, 0);
    }
    /* Add keys one by one; for each new key fail the 1st, 2nd, ...
     * allocation of observe until it succeeds, checking that every failure
     * leaves the key count and all predictions as they were. */
    const double f = 1.0;
    for (uint64_t key = 1; key <= 40; key++) {
        for (long k = 1;; k++) {
            size_t keys = cs_predict_num_keys(p);
            double before[41];
            for (uint64_t q = 1; q < key; q++)
                ck_assert_int_eq(cs_predict_estimate(p, q, &f, 1, 0.0, &before[q], NULL, NULL),
                                 CS_OK);
            test_alloc_fail_after(&ta, k);
            cs_status st = cs_predict_observe(p, key, &f, 1, 0.0, 10.0 * (double)key);
            test_alloc_fail_after(&ta, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            ck_assert_uint_eq(cs_predict_num_keys(p), keys);
            for (uint64_t q = 1; q < key; q++) {
                double e;
                ck_assert_int_eq(cs_predict_estimate(p, q, &f, 1, 0.0, &e, NULL, NULL), CS_OK);
                ck_assert(e == before[q]);
            }
        }
        /* observing a known key never allocates */
        long c = ta.count;
        ck_assert_int_eq(cs_predict_observe(p, key, &f, 1, 0.0, 10.0 * (double)key), CS_OK);
        ck_assert_int_eq(ta.count, c);
    }
    ck_assert_uint_eq(cs_predict_num_keys(p), 40);
    cs_predict_destroy(p);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("predict");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, recovers_exact_log_linear_model);
    tcase_add_test(tc, fallback_rules_by_hand);
    tcase_add_test(tc, missing_features_fall_back);
    tcase_add_test(tc, error_band_matches_reference_model);
    tcase_add_test(tc, per_key_models_and_pooled_global);
    tcase_add_test(tc, forgetting_adapts_to_a_level_change);
    tcase_add_test(tc, extend_by_hand);
    tcase_add_test(tc, many_keys_and_determinism);
    tcase_add_test(tc, bad_input_changes_nothing);
    tcase_add_test(tc, alloc_failure_create_and_new_keys);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
