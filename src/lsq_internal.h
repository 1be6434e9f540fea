/* Helpers shared by the least-squares family (lsq.c, lsq_bounded.c,
 * lsq_poly.c, rls.c, predict.c). Never installed. */
#ifndef CLOUDSCHED_LSQ_INTERNAL_H
#define CLOUDSCHED_LSQ_INTERNAL_H

#include <lapacke.h>
#include <math.h>
#include <stdbool.h>

#include "cloudsched/lsq.h"

/* INFINITY and NAN are float constants in C11; these are the doubles
 * (spelled out so that -Wdouble-promotion stays quiet). */
#define CS__INF ((double)INFINITY)
#define CS__NAN ((double)NAN)

/* First published sizes of the size-prefixed structs. */
#define CS__LSQ_STATS_MIN_SIZE sizeof(cs_lsq_stats)
#define CS__LSQ_POLY_MIN_SIZE sizeof(cs_lsq_poly)

/* The workspace (lsq.c owns its life cycle). */
struct cs_lsq {
    cs_allocator alloc;
    cs_lsq_options opts;
    size_t n, p, pp, nrhs; /* pp = p + intercept */
    size_t m;              /* factorised rows: n, plus pp ridge rows */
    size_t lda, ldb;       /* lda = m, ldb = max(m, pp) */
    double rcond;          /* resolved threshold */
    lapack_int lwork;

    double *a;     /* lda x pp */
    double *b;     /* ldb x nrhs */
    double *work;  /* LAPACK workspace */
    double *sw;    /* n square roots of the weights */
    double *r;     /* n residuals (direct residual path) */
    double *d;     /* pp column scales: b = c / d */
    double *sv;    /* pp singular values / dtrcon scratch (3 pp) */
    double *tau;   /* pp Householder scalars */
    double *sinv;  /* pp x pp: inverse of the triangular factor */
    double *mcov;  /* pp x pp: (A'A)^-1 in scaled coordinates */
    double *rwork; /* pp x pp: copy of R_s for dgelsy / dgelss */
    double *cbuf;  /* pp x nrhs solution, column-major */
    double *sebuf; /* pp x nrhs standard errors, column-major */
    double *rss;   /* nrhs */
    double *tss;   /* nrhs */
    /* bounded (active-set) scratch */
    double *bv_r;   /* pp x pp columns of the free set */
    double *bv_rhs; /* pp */
    double *bv_x, *bv_z, *bv_g, *bv_lo, *bv_hi, *bv_tau; /* pp each */
    double *zeros; /* pp zeros: the NNLS lower bounds */
    lapack_int *iwork; /* 2 pp: jpvt, then dtrcon's scratch */
    unsigned char *bv_state; /* pp */
    unsigned char *bv_blocked; /* pp */

    /* results of the last successful core fit */
    size_t rank;
    size_t n_used;
    double wsum;
    double dof;
    double cond;
    bool have_cov; /* mcov valid (full rank) */
    bool have_sinv; /* sinv valid (QR paths, full rank) */
};

/* The data of one fit call. */
typedef struct fit_in {
    cs_lsq_layout layout;
    const double *x;
    size_t ldx;
    const double *y;
    size_t ldy;
    const double *w;
    bool centred; /* R^2 about the mean (intercept, or a polynomial basis) */
    /* Polynomial basis generated in place instead of reading x as a matrix:
     * column k is ((x_i - poly_center) / poly_scale)^k (x is then a vector). */
    bool poly;
    double poly_center, poly_scale;
} fit_in;


/* ---- shared steps of a fit (lsq.c) ---- */

/* Arguments of cs_lsq_fit and friends: ::CS_OK or ::CS_ERR_INVALID. */
cs_status cs__lsq_validate_fit_call(const cs_lsq *ws, const fit_in *in, const double *coef,
                                    size_t ldcoef, const cs_lsq_stats *stats);

/* Square roots of the weights into ws->sw, their count and sum; false on
 * a NaN, Inf or negative weight. */
bool cs__lsq_load_weights(cs_lsq *ws, const double *w);

/* sqrt(w) X (columns divided by ws->d when `scaled`, intercept first, ridge
 * rows below) into ws->a, sqrt(w) Y into ws->b; false on NaN or Inf. */
bool cs__lsq_fill_system(cs_lsq *ws, const fit_in *in, bool scaled);

/* After a QR of ws->a: column scales from R into ws->d, R scaled in place. */
void cs__lsq_scale_r(cs_lsq *ws);

/* Full-rank test of the scaled R: ::CS_OK or ::CS_ERR_SINGULAR. */
cs_status cs__lsq_check_r(cs_lsq *ws);

/* Factorise and solve; standard errors into ws->sebuf and sums of squares
 * into ws->rss / ws->tss when asked. */
cs_status cs__lsq_core_fit(cs_lsq *ws, const fit_in *in, bool want_se, bool want_stats);

/* Sum of squares, overflow-safe. */
double cs__lsq_sumsq(const double *v, size_t n);

/* ws->rss[k] = sum_i w_i (y_ik - x_i b_k)^2 from the caller's data, b in ws->cbuf. */
void cs__lsq_rss_direct(cs_lsq *ws, const fit_in *in);

/* ws->tss[k]: weighted total sum of squares, about the mean when centred. */
void cs__lsq_compute_tss(cs_lsq *ws, const fit_in *in);

/* Statistics of right-hand side k from the workspace's results. */
void cs__lsq_make_stats(const cs_lsq *ws, size_t k, bool centred, double dof, size_t rank,
                        cs_lsq_stats *s);

/* Copy a column-major rows x cols block into a caller matrix. */
void cs__lsq_store_matrix(cs_lsq_layout layout, double *dst, size_t ld, const double *src,
                          size_t rows, size_t cols);

/* An array of `count` caller stats structs of one valid size (the stride). */
bool cs__lsq_stats_array_valid(const cs_lsq_stats *stats, size_t count);

/* Store full statistics into element k of a caller array (its size). */
void cs__lsq_stats_store(cs_lsq_stats *stats, size_t k, const cs_lsq_stats *full);

#endif
