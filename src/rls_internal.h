/* Square-root RLS kernels shared by rls.c and predict.c. Never installed.
 *
 * A model with p coefficients keeps the upper-triangular q x q factor
 * T = [R z; 0 rho] (q = p + 1, column-major, leading dimension ld) of the
 * weighted augmented matrix [X y]. */
#ifndef CLOUDSCHED_RLS_INTERNAL_H
#define CLOUDSCHED_RLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Annihilate the row v (q entries, destroyed) into T with q Givens
 * rotations: T'T + v v' is the new T'T. O(q^2). */
void cs__rls_absorb_row(double *T, size_t ld, size_t q, double *v);

/* Multiply the upper triangle of T by f (the forgetting step, f = sqrt(lambda)). */
void cs__rls_scale(double *T, size_t ld, size_t q, double f);

/* Solve R b = z by back substitution (R = T[0:p, 0:p], z = T[0:p, p]).
 * false when a diagonal entry is zero or the result is not finite. */
bool cs__rls_back_substitute(const double *T, size_t ld, size_t p, double *b);

/* b = argmin ||R b - z||^2 + mu ||b||^2, using S (q * q doubles, ld q) and
 * v (q doubles) as scratch. false as cs__rls_back_substitute. O(p^3). */
bool cs__rls_solve_ridge(const double *T, size_t ld, size_t p, double mu, double *S,
                         double *v, double *b);

#endif
