/* bench_qp: dense convex QPs with n variables, p = n inequalities, n / 10
 * equalities and a box, n = 50 .. 1000 (--quick: 50, 100). The baseline,
 * measured in the same run, is the linear algebra floor of one interior
 * point iteration: forming P + G'DG (dsyrk) and factorising it (dpotrf)
 * once; the ratio baseline / ours is then about 1 / (iterations x the
 * per-iteration overhead). The cvxopt comparison is in peers_balance.py.
 * JSON lines on stdout, notes on stderr; times are process CPU time (the
 * BLAS may run threads; their time counts). */
#include "benchutil.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>

#include "cloudsched/qp.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0xfeedULL;

static double uniform(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double normal(void)
{
    double u1 = uniform() + 1e-300, u2 = uniform();
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    const size_t sizes[] = {50, 100, 200, 500, 1000};
    int nsizes = quick ? 2 : 5;
    for (int si = 0; si < nsizes; si++) {
        size_t n = sizes[si], mi = n, me = n / 10;
        double *P = malloc(n * n * sizeof *P), *R = malloc(n * n * sizeof *R);
        double *q = malloc(n * sizeof *q), *x0 = malloc(n * sizeof *x0);
        double *A = malloc((me * n + 1) * sizeof *A), *b = malloc((me + 1) * sizeof *b);
        double *G = malloc(mi * n * sizeof *G), *h = malloc(mi * sizeof *h);
        double *l = malloc(n * sizeof *l), *u = malloc(n * sizeof *u), *x = malloc(n * sizeof *x);
        double *M = malloc(n * n * sizeof *M), *B = malloc(mi * n * sizeof *B);
        for (size_t k = 0; k < n * n; k++)
            R[k] = normal();
        /* P = R R' / n + 0.01 I: strictly convex, condition number ~ 400 */
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)n, 1.0 / (double)n, R,
                    (int)n, 0.0, P, (int)n);
        for (size_t i = 0; i < n; i++) {
            P[i * n + i] += 0.01;
            x0[i] = normal();
            q[i] = normal();
            l[i] = x0[i] - 1 - uniform();
            u[i] = x0[i] + 1 + uniform();
        }
        for (size_t k = 0; k < me; k++) {
            double s = 0;
            for (size_t j = 0; j < n; j++) {
                A[k * n + j] = normal();
                s += A[k * n + j] * x0[j];
            }
            b[k] = s;
        }
        for (size_t k = 0; k < mi; k++) {
            double s = 0;
            for (size_t j = 0; j < n; j++) {
                G[k * n + j] = normal();
                s += G[k * n + j] * x0[j];
            }
            h[k] = s + uniform();
        }
        cs_qp_workspace *ws = NULL;
        if (cs_qp_workspace_create(n, me, mi, NULL, &ws) != CS_OK)
            return 1;
        cs_qp_problem p;
        cs_qp_problem_init(&p, sizeof p);
        p.n = n;
        p.m_eq = me;
        p.m_in = mi;
        p.P = P;
        p.q = q;
        p.A = A;
        p.b = b;
        p.G = G;
        p.h = h;
        p.lower = l;
        p.upper = u;
        cs_qp_result r;
        cs_qp_result_init(&r, sizeof r);
        r.x = x;
        int reps = n <= 100 ? 21 : (n <= 200 ? 7 : 3);
        double tq[21], tb[21];
        for (int k = 0; k < reps; k++) {
            double t0 = cpu_now();
            cs_status st = cs_qp_solve(ws, &p, NULL, &r);
            double t1 = cpu_now();
            if (st != CS_OK) {
                fprintf(stderr, "n=%zu: %s\n", n, cs_status_name(st));
                return 1;
            }
            /* the floor: M = P + G'G, then its Cholesky factor */
            memcpy(M, P, n * n * sizeof *M);
            memcpy(B, G, mi * n * sizeof *B);
            cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)n, (int)mi, 1.0, B, (int)n,
                        1.0, M, (int)n);
            int info = LAPACKE_dpotrf_work(LAPACK_ROW_MAJOR, 'L', (int)n, M, (int)n);
            double t2 = cpu_now();
            bench_consume((uint64_t)info ^ (uint64_t)(x[0] * 1e6));
            tq[k] = t1 - t0;
            tb[k] = t2 - t1;
        }
        double ours = bench_median(tq, reps) * 1e9, base = bench_median(tb, reps) * 1e9;
        double kkt = fmax(r.primal_residual, r.dual_residual);
        char extra[200];
        snprintf(extra, sizeof extra,
                 ",\"kkt_residual\":%.3g,\"gap\":%.3g,\"iterations\":%d,\"m_eq\":%zu", kkt, r.gap,
                 r.iterations, me);
        bench_record("qp", "dense", (long)n, (long)mi, ours, 1, "lapacke_syrk_potrf", base, extra);
        fprintf(stderr,
                "n=%zu p=%zu m_eq=%zu: %.3f ms, %d iterations (%.2f factorisations' time each),"
                " KKT residual %.2g, gap %.2g, objective %.10g\n",
                n, mi, me, ours * 1e-6, r.iterations, ours / base / r.iterations, kkt, r.gap,
                r.objective);
        cs_qp_workspace_destroy(ws);
        free(P);
        free(R);
        free(q);
        free(x0);
        free(A);
        free(b);
        free(G);
        free(h);
        free(l);
        free(u);
        free(x);
        free(M);
        free(B);
    }
    return 0;
}
