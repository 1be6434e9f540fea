/* minimal_loop: the smallest complete embedding of the scheduler.
 *
 * The caller owns time. Here "time" is simulated: a loop jumps from event to
 * event (an arrival or a completion), tells the scheduler what happened, and
 * asks it what to start. A real embedding does the same with its own clock,
 * its own job launcher and its own notion of "job finished". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cloudsched/cloudsched.h>

#define CHECK(call)                                                                 \
    do {                                                                            \
        cs_status st_ = (call);                                                     \
        if (st_ != CS_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,         \
                    cs_status_str(st_));                                            \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

/* A job: when it arrives, what it needs, how long it really runs, and how
 * long its user thinks it runs (the estimate backfilling plans with). */
typedef struct job {
    double arrival, runtime, estimate;
    int64_t cpu, mem;
    double started; /* NAN until started */
} job;

int main(void)
{
    job jobs[] = {
        {0, 30, 40, 4000, 8192, (double)NAN},  {1, 10, 20, 8000, 16384, (double)NAN},
        {2, 50, 60, 6000, 4096, (double)NAN},  {3, 5, 10, 1000, 1024, (double)NAN},
        {4, 20, 30, 8000, 32768, (double)NAN}, {6, 8, 10, 2000, 2048, (double)NAN},
    };
    const int njobs = (int)(sizeof jobs / sizeof jobs[0]);

    /* Two nodes of 8 cpus (millicores) and 32 GiB. */
    const char *names[] = {"cpu_milli", "mem_mib"};
    cs_pool *pool;
    CHECK(cs_pool_create(2, names, NULL, NULL, &pool));
    int64_t cap[2] = {8000, 32768};
    cs_node_spec node;
    CHECK(cs_node_spec_init(&node, sizeof node));
    node.capacity = cap;
    node.num_resources = 2;
    CHECK(cs_pool_add_node(pool, 1, &node, NULL));
    CHECK(cs_pool_add_node(pool, 2, &node, NULL));

    /* FCFS with EASY backfilling (the defaults), best-fit placement. */
    cs_sched_options opt;
    CHECK(cs_sched_options_init(&opt, sizeof opt));
    opt.placement = CS_PLACE_BEST_FIT;
    cs_sched *sched;
    CHECK(cs_sched_create(pool, &opt, NULL, &sched));

    int next_arrival = 0, done = 0;
    double now = 0;
    while (done < njobs) {
        /* Everything that happens at `now`: completions, then arrivals. */
        for (int i = 0; i < njobs; i++)
            if (!isnan(jobs[i].started) && jobs[i].started + jobs[i].runtime == now) {
                CHECK(cs_sched_complete(sched, (uint64_t)i, now));
                printf("t=%5.1f  job %d done\n", now, i);
                done++;
            }
        while (next_arrival < njobs && jobs[next_arrival].arrival == now) {
            job *j = &jobs[next_arrival];
            int64_t demand[2] = {j->cpu, j->mem};
            cs_task_spec t;
            CHECK(cs_task_spec_init(&t, sizeof t));
            t.id = (uint64_t)next_arrival;
            t.demand = demand;
            t.num_resources = 2;
            t.runtime_estimate = j->estimate;
            CHECK(cs_sched_submit(sched, &t, now));
            next_arrival++;
        }
        /* Ask what to start now, and start it. */
        cs_decision dec[16];
        size_t n;
        CHECK(cs_sched_step(sched, now, dec, 16, &n));
        for (size_t k = 0; k < n; k++) {
            static const char *why[] = {"in order", "skip-ahead", "backfill",
                                        "after preemption", "preempted"};
            printf("t=%5.1f  start job %llu on node %llu (%s)\n", now,
                   (unsigned long long)dec[k].task, (unsigned long long)dec[k].node,
                   why[dec[k].reason]);
            jobs[dec[k].task].started = now;
        }
        CHECK(cs_sched_check(sched));
        /* Jump to the next event. */
        double next = (double)INFINITY;
        if (next_arrival < njobs)
            next = jobs[next_arrival].arrival;
        for (int i = 0; i < njobs; i++)
            if (!isnan(jobs[i].started) && jobs[i].started + jobs[i].runtime > now &&
                jobs[i].started + jobs[i].runtime < next)
                next = jobs[i].started + jobs[i].runtime;
        if (isinf(next))
            break;
        now = next;
    }
    double wait = 0;
    for (int i = 0; i < njobs; i++)
        wait += jobs[i].started - jobs[i].arrival;
    printf("all %d jobs done at t=%.1f, average wait %.2f s\n", done, now, wait / njobs);
    cs_sched_destroy(sched);
    cs_pool_destroy(pool);
    return done == njobs ? 0 : 1;
}
