/* Shared by the bench programs: a monotonic timer, medians over repetitions,
 * and the one-line JSON record of ../docs/internals.md. Benches do I/O and
 * read clocks; the library never does. */
#ifndef CS_BENCHUTIL_H
#define CS_BENCHUTIL_H

#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* True when argv holds --quick. */
static inline int bench_quick(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            return 1;
    return 0;
}

/* Keeps a value alive so the optimiser cannot drop the work producing it. */
static volatile uint64_t bench_sink;
static inline void bench_consume(uint64_t x)
{
    bench_sink ^= x;
}

/* One JSON line. `extra` is either NULL or a string of additional
 * ,"key":value pairs (starting with a comma). */
static inline void bench_record(const char *bench, const char *case_name, long n,
                                long p, double ns_per_op, long ops,
                                const char *baseline, double baseline_ns,
                                const char *extra)
{
    printf("{\"bench\":\"%s\",\"case\":\"%s\",\"n\":%ld,\"p\":%ld,"
           "\"ns_per_op\":%.6g,\"ops\":%ld",
           bench, case_name, n, p, ns_per_op, ops);
    if (baseline != NULL)
        printf(",\"baseline\":\"%s\",\"baseline_ns_per_op\":%.6g,\"ratio\":%.4g",
               baseline, baseline_ns, baseline_ns / ns_per_op);
    if (extra != NULL)
        printf("%s", extra);
    printf("}\n");
    fflush(stdout);
}

#endif
