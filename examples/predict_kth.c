/* Runtime prediction on the KTH-SP2 batch trace (Parallel Workloads Archive).
 *
 *   predict_kth [trace.swf] [--limit N] [--forgetting L]
 *
 * Replays the jobs in submission order. At each submission the predictor
 * estimates the runtime from what it has learned so far: only jobs that have
 * already finished (end = submit + wait + run in the trace) are observed,
 * exactly as a scheduler's complete() would feed them. Features: log of the
 * requested processors, plus the log of the user's requested time (the
 * predictor's estimate_feature); key: the user id. Reports, against the
 * user estimates and the "mean of the user's last two runtimes" rule
 * (Tsafrir, Etsion and Feitelson 2007), the mean absolute relative error,
 * the fraction of underestimates and how often the error band's upper bound
 * covers the actual runtime. Finally fits one batch model with cs_lsq.
 *
 * Without the trace (a clean clone), it falls back to the 1000-job slice in
 * tests/data and says so. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"

#ifndef CS_DATA_DIR
#define CS_DATA_DIR "../shared/data"
#endif
#ifndef CS_FALLBACK_SWF
#define CS_FALLBACK_SWF "tests/data/kth_sp2_slice.swf"
#endif

typedef struct job {
    double submit, end, run, req;
    double procs;
    uint64_t user;
} job;

/* Parse and clean an SWF log as the data README describes: drop jobs with
 * more processors than MaxProcs, take requested = allocated when one is
 * missing, drop run <= 0 or requested time <= 0, cap run at requested time. */
static job *load_swf(FILE *f, size_t limit, size_t *count)
{
    size_t cap = 1024, n = 0;
    job *jobs = malloc(cap * sizeof *jobs);
    char line[1024];
    double maxprocs = 1e300;
    while (jobs != NULL && fgets(line, sizeof line, f) != NULL && n < limit) {
        if (line[0] == ';') {
            const char *m = strstr(line, "MaxProcs:");
            if (m != NULL)
                maxprocs = atof(m + 9);
            continue;
        }
        double v[18];
        int k = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, " \t\r\n", &save); tok != NULL && k < 18;
             tok = strtok_r(NULL, " \t\r\n", &save))
            v[k++] = atof(tok);
        if (k < 18)
            continue;
        double alloc = v[4], reqp = v[7], run = v[3], reqt = v[8], wait = v[2];
        if (reqp <= 0)
            reqp = alloc;
        if (reqp <= 0 || reqp > maxprocs || run <= 0 || reqt <= 0)
            continue;
        if (run > reqt)
            run = reqt;
        if (n == cap) {
            job *g = realloc(jobs, 2 * cap * sizeof *jobs);
            if (g == NULL) {
                free(jobs);
                return NULL;
            }
            jobs = g;
            cap *= 2;
        }
        job *j = &jobs[n++];
        j->submit = v[1];
        j->run = run;
        j->req = reqt;
        j->procs = reqp;
        j->user = (uint64_t)(v[11] < 0 ? 0 : v[11]);
        j->end = v[1] + (wait > 0 ? wait : 0) + run;
    }
    *count = n;
    return jobs;
}

/* Binary min-heap of job indices by end time (ties by index). */
typedef struct heap {
    size_t *a, n;
    const job *jobs;
} heap;

static int heap_less(const heap *h, size_t x, size_t y)
{
    double ex = h->jobs[x].end, ey = h->jobs[y].end;
    return ex < ey || (ex == ey && x < y);
}

static void heap_push(heap *h, size_t v)
{
    size_t i = h->n++;
    h->a[i] = v;
    while (i > 0 && heap_less(h, h->a[i], h->a[(i - 1) / 2])) {
        size_t t = h->a[i];
        h->a[i] = h->a[(i - 1) / 2];
        h->a[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static size_t heap_pop(heap *h)
{
    size_t top = h->a[0];
    h->a[0] = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_less(h, h->a[l], h->a[m]))
            m = l;
        if (r < h->n && heap_less(h, h->a[r], h->a[m]))
            m = r;
        if (m == i)
            break;
        size_t t = h->a[i];
        h->a[i] = h->a[m];
        h->a[m] = t;
        i = m;
    }
    return top;
}

typedef struct score {
    double sum_rel;  /* sum |pred - actual| / actual */
    size_t under;    /* pred < actual */
    size_t covered;  /* actual <= upper bound */
    size_t n;
    size_t extensions; /* doublings until the estimate exceeds the runtime */
} score;

static void score_add(score *s, double pred, double upper, const job *j)
{
    s->sum_rel += fabs(pred - j->run) / j->run;
    s->under += pred < j->run;
    s->covered += j->run <= upper;
    s->n++;
    /* what a scheduler would do when the job outlives its estimate */
    double e = pred;
    while (e < j->run) {
        double next;
        if (cs_predict_extend(e, e, j->req, &next) != CS_OK || next <= e)
            break;
        e = next;
        s->extensions++;
    }
}

static void score_print(const char *name, const score *s)
{
    printf("  %-34s MARE %7.3f   underestimated %5.1f%%   covered by upper %5.1f%%\n",
           name, s->sum_rel / (double)s->n, 100.0 * (double)s->under / (double)s->n,
           100.0 * (double)s->covered / (double)s->n);
}

int main(int argc, char **argv)
{
    const char *path = CS_DATA_DIR "/KTH-SP2-1996-2.2.swf";
    size_t limit = (size_t)-1;
    double forgetting = 1.0; /* the best MARE on KTH; 0.99 and below forget too fast */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--forgetting") == 0 && i + 1 < argc)
            forgetting = atof(argv[++i]);
        else
            path = argv[i];
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("trace %s not found: using the built-in 1000-job slice %s\n", path,
               CS_FALLBACK_SWF);
        path = CS_FALLBACK_SWF;
        f = fopen(path, "r");
        if (f == NULL) {
            fprintf(stderr, "cannot open %s either\n", path);
            return 1;
        }
    }
    size_t n = 0;
    job *jobs = load_swf(f, limit, &n);
    fclose(f);
    if (jobs == NULL || n == 0) {
        fprintf(stderr, "no jobs read from %s\n", path);
        free(jobs);
        return 1;
    }
    printf("%s: %zu jobs after cleaning\n", path, n);

    /* The learned predictor, and the history rule alone (models never ready). */
    cs_predict_options o;
    cs_predict_options_init(&o, sizeof o);
    o.num_features = 1;
    o.quantile = 0.9;
    o.forgetting = forgetting;
    cs_predict_options oh = o;
    oh.min_samples = SIZE_MAX; /* models never ready: history, then user */
    oh.use_global = 0;
    cs_predict *pred = NULL, *hist = NULL;
    if (cs_predict_create(&o, NULL, &pred) != CS_OK ||
        cs_predict_create(&oh, NULL, &hist) != CS_OK) {
        fprintf(stderr, "cs_predict_create failed\n");
        return 1;
    }
    heap h = {malloc(n * sizeof(size_t)), 0, jobs};
    score s_model = {0}, s_user = {0}, s_hist = {0};
    size_t by_source[5] = {0};
    for (size_t i = 0; i < n; i++) {
        const job *j = &jobs[i];
        while (h.n > 0 && jobs[h.a[0]].end <= j->submit) {
            const job *d = &jobs[heap_pop(&h)];
            double fd = log(d->procs);
            cs_predict_observe(pred, d->user, &fd, 1, d->req, d->run);
            cs_predict_observe(hist, d->user, &fd, 1, d->req, d->run);
        }
        double fj = log(j->procs), e, u;
        cs_predict_source src;
        if (cs_predict_estimate(pred, j->user, &fj, 1, j->req, &e, &u, &src) == CS_OK) {
            score_add(&s_model, e, u, j);
            by_source[src]++;
        }
        if (cs_predict_estimate(hist, j->user, &fj, 1, j->req, &e, &u, &src) == CS_OK)
            score_add(&s_hist, e, u, j);
        score_add(&s_user, j->req, j->req, j);
        heap_push(&h, i);
    }
    printf("\nruntime prediction at submission (%zu jobs, key = user, %zu users):\n", n,
           cs_predict_num_keys(pred));
    score_print("user estimate (requested time)", &s_user);
    score_print("mean of the user's last two runs", &s_hist);
    score_print("cs_predict (log-linear RLS + band)", &s_model);
    printf("  sources: user model %zu, global model %zu, history %zu, user estimate %zu\n",
           by_source[CS_PREDICT_SOURCE_MODEL], by_source[CS_PREDICT_SOURCE_GLOBAL],
           by_source[CS_PREDICT_SOURCE_HISTORY], by_source[CS_PREDICT_SOURCE_USER]);
    printf("  extensions (doubling, capped at the request) per underestimated job: %.2f\n",
           s_model.under ? (double)s_model.extensions / (double)s_model.under : 0.0);

    /* One batch model over the whole trace:
     * log(run) = b0 + b1 log(procs) + b2 log(requested time). */
    double *X = malloc(2 * n * sizeof *X), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = log(jobs[i].procs);
        X[2 * i + 1] = log(jobs[i].req);
        y[i] = log(jobs[i].run);
    }
    cs_lsq_options lo;
    cs_lsq_options_init(&lo, sizeof lo);
    lo.intercept = 1;
    double b[3], se[3];
    cs_lsq_stats st;
    cs_lsq_stats_init(&st, sizeof st);
    cs_status rc = cs_lsq_solve(n, 2, &lo, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, se, &st,
                                NULL);
    if (rc == CS_OK) {
        printf("\nbatch fit (cs_lsq, QR): log(run) = %.3f (+-%.3f) + %.3f (+-%.3f) log(procs)"
               " + %.3f (+-%.3f) log(request)\n",
               b[0], se[0], b[1], se[1], b[2], se[2]);
        printf("  R^2 %.3f, residual sd %.3f (log units: a factor %.1f), cond %.1f\n", st.r2,
               st.sigma, exp(st.sigma), st.cond);
    } else {
        printf("batch fit failed: %s\n", cs_status_str(rc));
    }
    free(X);
    free(y);
    free(h.a);
    free(jobs);
    cs_predict_destroy(pred);
    cs_predict_destroy(hist);
    return rc == CS_OK ? 0 : 1;
}
