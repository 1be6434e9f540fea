/* Square-root RLS kernels shared by rls.c and predict.c. Never installed.
 *
 * A model with p coefficients keeps the upper-triangular q x q factor
 * T = [R z; 0 rho] (q = p + 1) of the weighted augmented matrix [X y],
 * stored row-major: T[i * ld + k], k >= i, so that the rotation of row j
 * runs over contiguous memory. */
#ifndef CLOUDSCHED_RLS_INTERNAL_H
#define CLOUDSCHED_RLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Scale T by f (the forgetting step, f = sqrt(lambda); 1 for none), then
 * annihilate the row v (q entries, destroyed) into it with q Givens
 * rotations: the new T'T is f^2 T'T + v v'. The scaling is folded into the
 * rotations (row j is scaled when it is rotated). O(q^2). */
void cs__rls_absorb_row(double *restrict T, size_t ld, size_t q, double *restrict v, double f);

/* Solve R b = z by back substitution (R = T[0:p, 0:p], z = T[0:p, p]).
 * false when a diagonal entry is zero or the result is not finite. */
bool cs__rls_back_substitute(const double *T, size_t ld, size_t p, double *b);

/* b = argmin ||R b - z||^2 + mu ||b||^2, using S (q * q doubles, ld q) and
 * v (q doubles) as scratch. false as cs__rls_back_substitute. O(p^3). */
bool cs__rls_solve_ridge(const double *T, size_t ld, size_t p, double mu, double *S,
                         double *v, double *b);

#endif
