/* cloudsched-slurm: let libcloudsched make a Slurm cluster's scheduling
 * decisions.
 *
 * A control loop: read nodes, partitions and jobs through libslurm, mirror
 * them into a cs_pool and a cs_sched (engine.c), run the configured policy at
 * the wall-clock time `now` (the program reads the clock; the library reads
 * none), and apply its decisions: pending jobs stay held until the library
 * starts them; a started job is pinned to the node(s) the library chose and
 * released with a priority that encodes the decision order. Finished jobs'
 * runtimes train the predictor. See docs/slurm.md for the set-up.
 *
 * Usage: cloudsched-slurm [flags]   (--help lists them)
 * Exit status: 0 done; 1 bad flags or a library failure; 2 slurmctld could
 * not be reached (with --once, or --max-failures times in a row). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csl.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleep up to `seconds`, returning early when a signal asks us to stop. */
static void nap(double seconds)
{
    double end = wall_clock() + seconds;
    while (!stop_requested) {
        double left = end - wall_clock();
        if (left <= 0)
            return;
        double chunk = left < 0.25 ? left : 0.25;
        struct timespec ts = {(time_t)chunk, (long)((chunk - (double)(time_t)chunk) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void usage(FILE *f)
{
    fputs(
        "usage: cloudsched-slurm [flags]\n"
        "Let libcloudsched decide which pending Slurm jobs start, in which order and where.\n"
        "Slurm is found through SLURM_CONF (or the default slurm.conf).\n\n"
        "policy:\n"
        "  --policy P          fcfs | priority | sjf | hrrn | fairshare | drf  (fcfs)\n"
        "  --placement S       first-fit | best-fit | worst-fit | least-allocated |\n"
        "                      most-allocated | balanced | dot-product | locality |\n"
        "                      load-balance  (first-fit)\n"
        "  --backfill D        reservations for blocked jobs: a depth N >= 1 (1 = EASY),\n"
        "                      conservative, skip (no reservations), none (strict order) (1)\n"
        "  --predict           order and backfill with predicted runtimes, learned from\n"
        "                      finished jobs (default: the jobs' time limits)\n"
        "  --preempt           let blocked jobs requeue lower-priority running jobs\n"
        "  --tenant T          account | user: who fair share and DRF charge (account)\n"
        "  --weight NAME=W     fair-share weight of a tenant (repeatable)\n"
        "  --partition NAME    manage this partition (repeatable; default: all)\n"
        "loop:\n"
        "  --poll SECONDS      time between cycles (5)\n"
        "  --once              run one cycle and exit\n"
        "  --duration SECONDS  stop after this long (0 = run until signalled) (0)\n"
        "  --exit-when-idle    stop once every managed job has ended\n"
        "  --pin-timeout SEC   withdraw a decision Slurm has not carried out by then (60)\n"
        "  --max-failures N    exit 2 after N cycles in a row without slurmctld (0 = never)\n"
        "  --release-on-exit   on exit, hand the jobs still held back to Slurm\n"
        "output:\n"
        "  --events FILE       JSON lines of every decision and change ('-' = stdout)\n"
        "  --check             verify the library's invariants after every cycle\n"
        "  --verbose           print a line per cycle\n"
        "  --help\n",
        f);
}

typedef struct named {
    const char *name;
    int value;
} named;

static const named policies[] = {{"fcfs", CS_QUEUE_FCFS},       {"priority", CS_QUEUE_PRIORITY},
                                 {"sjf", CS_QUEUE_SJF},         {"hrrn", CS_QUEUE_HRRN},
                                 {"fairshare", CS_QUEUE_FAIRSHARE}, {"drf", CS_QUEUE_DRF},
                                 {NULL, 0}};
static const named placements[] = {{"first-fit", CS_PLACE_FIRST_FIT},
                                   {"best-fit", CS_PLACE_BEST_FIT},
                                   {"worst-fit", CS_PLACE_WORST_FIT},
                                   {"least-allocated", CS_PLACE_LEAST_ALLOCATED},
                                   {"most-allocated", CS_PLACE_MOST_ALLOCATED},
                                   {"balanced", CS_PLACE_BALANCED},
                                   {"dot-product", CS_PLACE_DOT_PRODUCT},
                                   {"locality", CS_PLACE_LOCALITY},
                                   {"load-balance", CS_PLACE_LOAD_BALANCE},
                                   {NULL, 0}};

static int lookup(const named *t, const char *flag, const char *s, int *out)
{
    for (; t->name != NULL; t++)
        if (strcmp(t->name, s) == 0) {
            *out = t->value;
            return 0;
        }
    fprintf(stderr, "cloudsched-slurm: unknown value '%s' for %s\n", s, flag);
    return -1;
}

static int number(const char *flag, const char *s, double lo, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo) || v > 1e9) {
        fprintf(stderr, "cloudsched-slurm: %s wants a number >= %g, not '%s'\n", flag, lo, s);
        return -1;
    }
    *out = v;
    return 0;
}

#define MAX_LIST 64

typedef struct flags {
    csl_config cfg;
    double poll, duration;
    int once, exit_when_idle, release_on_exit;
    double max_failures;
    const char *events_path;
    const char *partitions[MAX_LIST];
    csl_weight weights[MAX_LIST];
} flags;

static int parse(int argc, char **argv, flags *f)
{
    csl_config_init(&f->cfg);
    f->poll = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int x;
        double d;
#define NEED_VALUE()                                                                \
    do {                                                                            \
        if (v == NULL) {                                                            \
            fprintf(stderr, "cloudsched-slurm: %s needs a value\n", a);             \
            return -1;                                                              \
        }                                                                           \
        i++;                                                                        \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--policy") == 0) {
            NEED_VALUE();
            if (lookup(policies, a, v, &x) != 0)
                return -1;
            f->cfg.policy = (cs_queue_policy)x;
        } else if (strcmp(a, "--placement") == 0) {
            NEED_VALUE();
            if (lookup(placements, a, v, &x) != 0)
                return -1;
            f->cfg.placement = (cs_placement)x;
        } else if (strcmp(a, "--backfill") == 0) {
            NEED_VALUE();
            if (strcmp(v, "none") == 0) {
                f->cfg.head_of_line = CS_HOL_STRICT;
            } else if (strcmp(v, "skip") == 0) {
                f->cfg.head_of_line = CS_HOL_SKIP;
            } else if (strcmp(v, "conservative") == 0) {
                f->cfg.head_of_line = CS_HOL_BACKFILL;
                f->cfg.backfill_depth = CS_BACKFILL_CONSERVATIVE;
            } else {
                if (number(a, v, 1, &d) != 0)
                    return -1;
                f->cfg.head_of_line = CS_HOL_BACKFILL;
                f->cfg.backfill_depth = (uint32_t)d;
            }
        } else if (strcmp(a, "--predict") == 0) {
            f->cfg.use_predictions = 1;
        } else if (strcmp(a, "--preempt") == 0) {
            f->cfg.preemption = 1;
        } else if (strcmp(a, "--tenant") == 0) {
            NEED_VALUE();
            if (strcmp(v, "account") != 0 && strcmp(v, "user") != 0) {
                fprintf(stderr, "cloudsched-slurm: --tenant is account or user\n");
                return -1;
            }
            f->cfg.tenant_by_user = strcmp(v, "user") == 0;
        } else if (strcmp(a, "--weight") == 0) {
            NEED_VALUE();
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || f->cfg.num_weights == MAX_LIST ||
                number(a, eq + 1, 1e-9, &d) != 0) {
                fprintf(stderr, "cloudsched-slurm: --weight wants NAME=W with W > 0\n");
                return -1;
            }
            argv[i][eq - v] = '\0'; /* split NAME=W in place */
            f->weights[f->cfg.num_weights].tenant = v;
            f->weights[f->cfg.num_weights].weight = d;
            f->cfg.num_weights++;
        } else if (strcmp(a, "--partition") == 0) {
            NEED_VALUE();
            if (f->cfg.num_partitions == MAX_LIST)
                return -1;
            f->partitions[f->cfg.num_partitions++] = v;
        } else if (strcmp(a, "--poll") == 0) {
            NEED_VALUE();
            if (number(a, v, 0.05, &f->poll) != 0)
                return -1;
        } else if (strcmp(a, "--once") == 0) {
            f->once = 1;
        } else if (strcmp(a, "--duration") == 0) {
            NEED_VALUE();
            if (number(a, v, 0, &f->duration) != 0)
                return -1;
        } else if (strcmp(a, "--exit-when-idle") == 0) {
            f->exit_when_idle = 1;
        } else if (strcmp(a, "--pin-timeout") == 0) {
            NEED_VALUE();
            if (number(a, v, 1, &f->cfg.pin_timeout) != 0)
                return -1;
        } else if (strcmp(a, "--max-failures") == 0) {
            NEED_VALUE();
            if (number(a, v, 0, &f->max_failures) != 0)
                return -1;
        } else if (strcmp(a, "--release-on-exit") == 0) {
            f->release_on_exit = 1;
        } else if (strcmp(a, "--events") == 0) {
            NEED_VALUE();
            f->events_path = v;
        } else if (strcmp(a, "--check") == 0) {
            f->cfg.check = 1;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            f->cfg.verbose = 1;
        } else {
            fprintf(stderr, "cloudsched-slurm: unknown flag '%s' (try --help)\n", a);
            return -1;
        }
#undef NEED_VALUE
    }
    f->cfg.partitions = f->partitions;
    f->cfg.weights = f->weights;
    return 0;
}

/* Hand every job we still hold back to Slurm's own scheduler. */
static void release_held(const csl_engine *e, csl_io *io)
{
    size_t n = csl_engine_held_jobs(e, NULL, 0);
    uint32_t *ids = calloc(n + 1, sizeof *ids);
    if (ids == NULL)
        return;
    csl_engine_held_jobs(e, ids, n);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += csl_io_unhold(io, ids[i]) == 0;
    fprintf(stderr, "cloudsched-slurm: released %zu of %zu held jobs to Slurm\n", ok, n);
    free(ids);
}

int main(int argc, char **argv)
{
    flags f;
    memset(&f, 0, sizeof f);
    if (parse(argc, argv, &f) != 0) {
        usage(stderr);
        return 1;
    }
    FILE *events = NULL;
    if (f.events_path != NULL) {
        events = strcmp(f.events_path, "-") == 0 ? stdout : fopen(f.events_path, "a");
        if (events == NULL) {
            fprintf(stderr, "cloudsched-slurm: cannot open %s: %s\n", f.events_path,
                    strerror(errno));
            return 1;
        }
        f.cfg.events = events;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* libslurm ends the process when it finds no configuration: say why
     * first when SLURM_CONF names a file that is not there. */
    const char *conf = getenv("SLURM_CONF");
    if (conf != NULL && *conf != '\0') {
        FILE *cf = fopen(conf, "r");
        if (cf == NULL) {
            fprintf(stderr, "cloudsched-slurm: cannot read SLURM_CONF=%s: %s\n", conf,
                    strerror(errno));
            return 2;
        }
        fclose(cf);
    }
    csl_io *io = NULL;
    csl_engine *engine = NULL;
    if (csl_io_create(stderr, &io) != 0 || csl_engine_create(&f.cfg, &engine) != 0) {
        fprintf(stderr, "cloudsched-slurm: cannot start\n");
        csl_io_destroy(io);
        return 1;
    }
    csl_actions act;
    csl_io_actions(io, &act);

    int status = 0;
    double start = wall_clock();
    unsigned long failures = 0, cycles = 0;
    size_t ever_managed = 0, total_started = 0, total_revoked = 0;
    bool checked_partitions = false;
    while (!stop_requested) {
        csl_snapshot snap;
        char err[512];
        if (csl_io_load(io, &snap, err, sizeof err) != 0) {
            failures++;
            fprintf(stderr, "cloudsched-slurm: %s\n", err);
            if (f.once || (f.max_failures > 0 && (double)failures >= f.max_failures)) {
                fprintf(stderr, "cloudsched-slurm: giving up: is slurmctld running and "
                                "reachable with this slurm.conf?\n");
                status = 2;
                break;
            }
            nap(f.poll);
            continue;
        }
        failures = 0;
        if (!checked_partitions) {
            for (size_t i = 0; i < f.cfg.num_partitions; i++)
                if (!csl_io_partition_exists(io, f.partitions[i]))
                    fprintf(stderr, "cloudsched-slurm: warning: no partition named '%s'\n",
                            f.partitions[i]);
            checked_partitions = true;
        }
        csl_cycle_stats st;
        if (csl_engine_cycle(engine, &snap, wall_clock(), &act, &st) != 0) {
            status = 1;
            break;
        }
        cycles++;
        total_started += st.started;
        total_revoked += st.revoked;
        ever_managed += st.pending + st.running;
        if (f.cfg.verbose || st.started || st.revoked || st.ended || st.errors)
            fprintf(stderr,
                    "cloudsched-slurm: cycle %lu: started %zu, revoked %zu, ended %zu, "
                    "errors %zu; pending %zu, running %zu, foreign %zu\n",
                    cycles, st.started, st.revoked, st.ended, st.errors, st.pending,
                    st.running, st.foreign);
        if (f.once)
            break;
        if (f.exit_when_idle && ever_managed > 0 && st.pending == 0 && st.running == 0)
            break;
        if (f.duration > 0 && wall_clock() - start >= f.duration)
            break;
        nap(f.poll);
    }
    if (f.release_on_exit && status != 2)
        release_held(engine, io);
    fprintf(stderr, "cloudsched-slurm: %lu cycles, %zu jobs started, %zu decisions revoked\n",
            cycles, total_started, total_revoked);
    csl_engine_destroy(engine);
    csl_io_destroy(io);
    if (events != NULL && events != stdout)
        fclose(events);
    return status;
}
