/* Helpers shared by the least-squares family (lsq.c, rls.c, predict.c).
 * Never installed. */
#ifndef CLOUDSCHED_LSQ_INTERNAL_H
#define CLOUDSCHED_LSQ_INTERNAL_H

#include <math.h>

/* INFINITY and NAN are float constants in C11; these are the doubles
 * (spelled out so that -Wdouble-promotion stays quiet). */
#define CS__INF ((double)INFINITY)
#define CS__NAN ((double)NAN)

#endif
