/* Reference algorithm shared by the least-squares tests (test_lsq.c,
 * test_predict.c): ridge least squares by modified Gram-Schmidt with one
 * full reorthogonalisation ("twice is enough", Giraud et al. 2005), on the
 * augmented rows [A; sqrt(mu) I]. A different algorithm from the library's
 * Householder QR and Givens RLS, simple enough to trust by reading. */
#ifndef CS_TEST_REFERENCE_LSQ_H
#define CS_TEST_REFERENCE_LSQ_H

#include <math.h>
#include <stdlib.h>

/* b = argmin ||A b - t||^2 + mu ||b||^2, A row-major n x d (mu = 0: plain
 * least squares; A must then have full column rank). */
static void ref_ridge_lstsq(size_t n, size_t d, const double *A, const double *t, double mu,
                            double *b)
{
    size_t m = n + d;
    double *Q = malloc(m * d * sizeof *Q), *R = calloc(d * d, sizeof *R);
    double *rhs = malloc(m * sizeof *rhs), *qt = malloc(d * sizeof *qt);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < d; j++)
            Q[i * d + j] = i < n ? A[i * d + j] : (i - n == j ? sqrt(mu) : 0.0);
        rhs[i] = i < n ? t[i] : 0.0;
    }
    for (size_t j = 0; j < d; j++) {
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < j; k++) {
                double dot = 0.0;
                for (size_t i = 0; i < m; i++)
                    dot += Q[i * d + k] * Q[i * d + j];
                R[k * d + j] += dot;
                for (size_t i = 0; i < m; i++)
                    Q[i * d + j] -= dot * Q[i * d + k];
            }
        double nrm = 0.0;
        for (size_t i = 0; i < m; i++)
            nrm += Q[i * d + j] * Q[i * d + j];
        nrm = sqrt(nrm);
        R[j * d + j] = nrm;
        for (size_t i = 0; i < m; i++)
            Q[i * d + j] /= nrm;
    }
    for (size_t j = 0; j < d; j++) {
        double dot = 0.0;
        for (size_t i = 0; i < m; i++)
            dot += Q[i * d + j] * rhs[i];
        qt[j] = dot;
    }
    for (size_t j = d; j-- > 0;) {
        double acc = qt[j];
        for (size_t k = j + 1; k < d; k++)
            acc -= R[j * d + k] * b[k];
        b[j] = acc / R[j * d + j];
    }
    free(Q);
    free(R);
    free(rhs);
    free(qt);
}

#endif
