/* gpu_gangs: a small GPU cluster with distributed training gangs, inference
 * services and priority preemption.
 *
 * Two racks of two 8-GPU nodes. Training jobs are gangs (all workers start
 * together or not at all) packed into one rack for fast interconnect;
 * inference tasks are small and urgent and may preempt low-priority
 * training. The program prints every decision and where each gang landed. */
#include <inttypes.h>
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

enum { CPU, MEM, GPU, P };

static void print_decisions(const cs_sched *sched, double now, const cs_decision *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i].kind == CS_DECISION_PREEMPT) {
            printf("t=%4.0f  PREEMPT job %" PRIu64 " on node %" PRIu64 " for job %" PRIu64 "\n",
                   now, d[i].task, d[i].node, d[i].related);
            continue;
        }
        uint64_t nodes[16];
        size_t r;
        CHECK(cs_sched_task_placement(sched, d[i].task, nodes, NULL, 16, &r));
        printf("t=%4.0f  START   job %" PRIu64 " x%u on nodes", now, d[i].task, d[i].replicas);
        for (size_t k = 0; k < r; k++)
            printf(" %" PRIu64, nodes[k]);
        printf("\n");
    }
}

static void submit(cs_sched *sched, uint64_t id, uint64_t tenant, int64_t prio, int64_t gpus,
                   uint32_t workers, cs_topology topo, double est, double now)
{
    int64_t demand[P] = {gpus * 8000, gpus * 65536, gpus};
    cs_task_spec t;
    CHECK(cs_task_spec_init(&t, sizeof t));
    t.id = id;
    t.tenant = tenant;
    t.priority = prio;
    t.demand = demand;
    t.num_resources = P;
    t.count = workers;
    t.topology = topo;
    t.runtime_estimate = est;
    CHECK(cs_sched_submit(sched, &t, now));
}

int main(void)
{
    const char *names[P] = {"cpu_milli", "mem_mib", "gpu"};
    cs_pool *pool;
    CHECK(cs_pool_create(P, names, NULL, NULL, &pool));
    int64_t cap[P] = {96000, 786432, 8};
    cs_node_spec spec;
    CHECK(cs_node_spec_init(&spec, sizeof spec));
    spec.capacity = cap;
    spec.num_resources = P;
    for (uint64_t id = 1; id <= 4; id++) {
        spec.rack = id <= 2 ? 1 : 2; /* nodes 1, 2 in rack 1; 3, 4 in rack 2 */
        CHECK(cs_pool_add_node(pool, id, &spec, NULL));
    }

    cs_sched_options opt;
    CHECK(cs_sched_options_init(&opt, sizeof opt));
    opt.policy = CS_QUEUE_PRIORITY;
    opt.placement = CS_PLACE_MOST_ALLOCATED; /* bin packing keeps whole nodes free */
    opt.preemption = 1;
    cs_sched *sched;
    CHECK(cs_sched_create(pool, &opt, NULL, &sched));

    cs_decision d[32];
    size_t n;
    /* t=0: two training gangs of 2 workers x 4 GPUs (priority 1), packed. */
    submit(sched, 100, 1, 1, 4, 2, CS_TOPOLOGY_PACK, 3600, 0);
    submit(sched, 101, 2, 1, 4, 2, CS_TOPOLOGY_PACK, 3600, 0);
    /* A large gang of 4 workers x 4 GPUs needs half the cluster. */
    submit(sched, 102, 1, 1, 4, 4, CS_TOPOLOGY_PACK, 7200, 0);
    CHECK(cs_sched_step(sched, 0, d, 32, &n));
    print_decisions(sched, 0, d, n);

    /* t=60: an urgent inference task (priority 10, 2 GPUs) on a full cluster:
     * it preempts the most recently started low-priority work it needs. */
    submit(sched, 200, 3, 10, 2, 1, CS_TOPOLOGY_ANY, 600, 60);
    CHECK(cs_sched_step(sched, 60, d, 32, &n));
    print_decisions(sched, 60, d, n);

    /* t=660: inference done; the preempted gang restarts from the queue. */
    CHECK(cs_sched_complete(sched, 200, 660));
    CHECK(cs_sched_step(sched, 660, d, 32, &n));
    print_decisions(sched, 660, d, n);

    double util[P];
    CHECK(cs_pool_utilization(pool, CS_PARTITION_ANY, util));
    printf("GPU utilisation now: %.0f%%\n", 100 * util[GPU]);
    cs_sched_counts c = {.size = sizeof c};
    CHECK(cs_sched_counts_get(sched, &c));
    printf("tasks: %" PRIu64 " submitted, %" PRIu64 " running, %" PRIu64 " pending, %" PRIu64
           " done\n",
           c.submitted, c.running, c.pending, c.done);
    CHECK(cs_sched_check(sched));
    cs_sched_destroy(sched);
    cs_pool_destroy(pool);
    return 0;
}
