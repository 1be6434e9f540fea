/* Balance new demand over the heterogeneous nodes of the Alibaba 2023 GPU
 * cluster trace and print the resulting utilisations.
 *
 *   balance_alibaba [DATA_DIR]
 *
 * DATA_DIR holds alibaba-gpu-v2023/openb_node_list_all_node.csv and
 * openb_pod_list_default.csv (default: the shared data directory this
 * example was built with). When they cannot be read, a small built-in slice
 * of the same files is used instead, and the output says so.
 *
 * 1. The nodes' capacities (cpu_milli, memory_mib, gpu milli-GPUs) come from
 *    the node list.
 * 2. The trace does not say where pods ran, so the current load is made by
 *    placing the Running pods first-fit in file order (a stand-in for the
 *    scheduler's state).
 * 3. The Pending pods are the new demand. Their total CPU is spread over the
 *    nodes with cs_balance_utilisation_int (so that CPU utilisations are as
 *    equal as possible, never above capacity), compared with a split
 *    proportional to free CPU; then the Pending pods' average demand vector
 *    is placed jointly over CPU, memory and GPU with cs_balance_multi_int.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"

#ifndef CS_DATA_DIR
#define CS_DATA_DIR "../shared/data"
#endif

#define DIMS 3 /* cpu_milli, memory_mib, gpu milli */

typedef struct node {
    int64_t cap[DIMS], load[DIMS];
    char model[16];
} node;

typedef struct pod {
    int64_t dem[DIMS];
    int running, pending;
} pod;

/* A slice of the real files, for a clean checkout without the data. */
static const char *builtin_nodes[] = {
    "openb-node-0000,32000,262144,0,",       "openb-node-0130,96000,393216,8,G2",
    "openb-node-0131,96000,393216,8,G2",     "openb-node-0132,96000,393216,8,G2",
    "openb-node-0700,104000,524288,2,T4",    "openb-node-0701,104000,524288,2,T4",
    "openb-node-0702,104000,524288,2,T4",    "openb-node-1100,16000,122880,2,P100",
    "openb-node-1101,16000,122880,2,P100",   "openb-node-1300,128000,786432,8,G3",
    "openb-node-1350,32000,131072,4,V100M16", "openb-node-1400,96000,786432,8,V100M32",
};
static const char *builtin_pods[] = {
    "p0,12000,16384,1,1000,,LS,Running", "p1,6000,12288,1,460,,LS,Running",
    "p2,8000,30000,1,1000,,LS,Running",  "p3,4000,15000,1,500,,BE,Running",
    "p4,32000,131072,8,1000,,LS,Running", "p5,16000,65536,2,1000,,LS,Running",
    "p6,2000,4096,0,0,,BE,Running",      "p7,24000,98304,4,1000,,LS,Running",
    "p8,8000,32768,1,1000,,LS,Pending",  "p9,4000,16384,1,500,,BE,Pending",
    "p10,6000,24576,1,1000,,LS,Pending", "p11,12000,49152,2,1000,,LS,Pending",
    "p12,2000,8192,0,0,,BE,Pending",     "p13,16000,65536,1,1000,,LS,Pending",
};

static int parse_node(const char *line, node *nd)
{
    char name[64];
    long long cpu, mem, gpu;
    memset(nd, 0, sizeof *nd);
    if (sscanf(line, "%63[^,],%lld,%lld,%lld,%15[^,\r\n]", name, &cpu, &mem, &gpu, nd->model) < 4)
        return 0;
    nd->cap[0] = cpu;
    nd->cap[1] = mem;
    nd->cap[2] = gpu * 1000;
    if (nd->model[0] == '\0' || nd->model[0] == '\r' || nd->model[0] == '\n')
        strcpy(nd->model, "CPU");
    return 1;
}

static int parse_pod(const char *line, pod *pd)
{
    char name[64], spec[64], qos[16], phase[16];
    long long cpu, mem, ngpu, gmilli;
    /* name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,... (gpu_spec may be empty) */
    const char *p = line;
    if (sscanf(p, "%63[^,],%lld,%lld,%lld,%lld,", name, &cpu, &mem, &ngpu, &gmilli) != 5)
        return 0;
    for (int commas = 0; *p && commas < 5; p++)
        commas += *p == ',';
    spec[0] = '\0';
    if (*p != ',' && sscanf(p, "%63[^,]", spec) == 1)
        p += strlen(spec);
    if (sscanf(p, ",%15[^,],%15[^,\r\n]", qos, phase) != 2)
        return 0;
    pd->dem[0] = cpu;
    pd->dem[1] = mem;
    pd->dem[2] = ngpu * gmilli; /* milli-GPUs; gpu_milli < 1000 is a shared GPU */
    pd->running = strcmp(phase, "Running") == 0;
    pd->pending = strcmp(phase, "Pending") == 0;
    return 1;
}

/* Read a CSV (skipping its header) into items via parse; NULL on failure. */
static void *read_csv(const char *path, size_t item, int (*parse)(const char *, void *),
                      size_t *count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char line[512];
    size_t cap = 1024, n = 0;
    char *items = malloc(cap * item);
    if (fgets(line, sizeof line, f) == NULL) { /* header */
        fclose(f);
        free(items);
        return NULL;
    }
    while (items != NULL && fgets(line, sizeof line, f) != NULL) {
        if (n == cap) {
            char *grown = realloc(items, 2 * cap * item);
            if (grown == NULL)
                break;
            items = grown;
            cap *= 2;
        }
        if (parse(line, items + n * item))
            n++;
    }
    fclose(f);
    *count = n;
    return items;
}

static int parse_node_v(const char *l, void *p) { return parse_node(l, p); }
static int parse_pod_v(const char *l, void *p) { return parse_pod(l, p); }

typedef struct stats {
    double mean, sd, min, max;
} stats;

static stats util_stats(const node *nodes, size_t n, int d, const int64_t *extra)
{
    stats s = {0, 0, HUGE_VAL, -HUGE_VAL};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].cap[d] == 0)
            continue;
        double u = (double)(nodes[i].load[d] + (extra ? extra[i] : 0)) / (double)nodes[i].cap[d];
        s.mean += u;
        s.sd += u * u;
        s.min = fmin(s.min, u);
        s.max = fmax(s.max, u);
        k++;
    }
    if (k > 0) {
        s.mean /= (double)k;
        s.sd = sqrt(fmax(0, s.sd / (double)k - s.mean * s.mean));
    }
    return s;
}

static void print_stats(const char *label, stats s)
{
    printf("  %-34s mean %5.1f%%  sd %5.1f%%  min %5.1f%%  max %5.1f%%\n", label, 100 * s.mean,
           100 * s.sd, 100 * s.min, 100 * s.max);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : CS_DATA_DIR;
    char path[1024];
    size_t nn = 0, np = 0;
    snprintf(path, sizeof path, "%s/alibaba-gpu-v2023/openb_node_list_all_node.csv", dir);
    node *nodes = read_csv(path, sizeof(node), parse_node_v, &nn);
    snprintf(path, sizeof path, "%s/alibaba-gpu-v2023/openb_pod_list_default.csv", dir);
    pod *pods = nodes != NULL ? read_csv(path, sizeof(pod), parse_pod_v, &np) : NULL;
    if (nodes == NULL || pods == NULL || nn == 0 || np == 0) {
        printf("Alibaba trace not found under %s: using the built-in slice (%zu nodes, %zu pods)\n",
               dir, sizeof builtin_nodes / sizeof *builtin_nodes,
               sizeof builtin_pods / sizeof *builtin_pods);
        free(nodes);
        free(pods);
        nn = sizeof builtin_nodes / sizeof *builtin_nodes;
        np = sizeof builtin_pods / sizeof *builtin_pods;
        nodes = calloc(nn, sizeof *nodes);
        pods = calloc(np, sizeof *pods);
        if (nodes == NULL || pods == NULL)
            return 1;
        for (size_t i = 0; i < nn; i++)
            parse_node(builtin_nodes[i], &nodes[i]);
        for (size_t i = 0; i < np; i++)
            parse_pod(builtin_pods[i], &pods[i]);
    } else {
        printf("Alibaba GPU trace 2023 from %s: %zu nodes, %zu pods\n", dir, nn, np);
    }

    /* Current load: Running pods first-fit in file order. */
    size_t placed = 0, unplaced = 0, pending = 0;
    int64_t pend_total[DIMS] = {0, 0, 0};
    for (size_t k = 0; k < np; k++) {
        if (pods[k].pending) {
            pending++;
            for (int d = 0; d < DIMS; d++)
                pend_total[d] += pods[k].dem[d];
        }
        if (!pods[k].running)
            continue;
        size_t i = 0;
        for (; i < nn; i++) {
            int fits = 1;
            for (int d = 0; d < DIMS; d++)
                fits &= nodes[i].load[d] + pods[k].dem[d] <= nodes[i].cap[d];
            if (fits)
                break;
        }
        if (i == nn) {
            unplaced++;
            continue;
        }
        for (int d = 0; d < DIMS; d++)
            nodes[i].load[d] += pods[k].dem[d];
        placed++;
    }
    printf("current load: %zu Running pods placed first-fit (%zu did not fit)\n", placed, unplaced);
    print_stats("CPU utilisation now", util_stats(nodes, nn, 0, NULL));

    /* New demand: the Pending pods' CPU, balanced. */
    int64_t *load = malloc(nn * sizeof *load), *cap = malloc(nn * sizeof *cap);
    int64_t *x = malloc(nn * sizeof *x), *xp = malloc(nn * sizeof *xp);
    if (load == NULL || cap == NULL || x == NULL || xp == NULL)
        return 1;
    int64_t free_total = 0;
    for (size_t i = 0; i < nn; i++) {
        load[i] = nodes[i].load[0];
        cap[i] = nodes[i].cap[0];
        free_total += cap[i] - load[i];
    }
    int64_t demand = pend_total[0] < free_total ? pend_total[0] : free_total;
    printf("\nnew demand: %zu Pending pods, %lld millicores of CPU (free: %lld)\n", pending,
           (long long)demand, (long long)free_total);
    cs_balance_workspace *ws = NULL;
    if (cs_balance_workspace_create(NULL, &ws) != CS_OK)
        return 1;
    /* baseline: proportional to free capacity (largest remainders keep the total) */
    int64_t given = 0;
    for (size_t i = 0; i < nn; i++) {
        xp[i] = (int64_t)((double)demand * (double)(cap[i] - load[i]) / (double)free_total);
        given += xp[i];
    }
    for (size_t i = 0; given < demand; i = (i + 1) % nn)
        if (xp[i] < cap[i] - load[i]) {
            xp[i]++;
            given++;
        }
    print_stats("proportional to free CPU", util_stats(nodes, nn, 0, xp));
    const char *modes[2] = {"balanced (squared deviation)", "balanced (water level)"};
    for (int mode = 0; mode < 2; mode++) {
        cs_balance_result r;
        cs_balance_result_init(&r, sizeof r);
        cs_status st = cs_balance_utilisation_int(ws, nn, load, cap, demand, (cs_balance_mode)mode,
                                                  x, &r);
        if (st != CS_OK) {
            printf("cs_balance_utilisation_int: %s\n", cs_status_str(st));
            return 1;
        }
        int64_t sum = 0;
        for (size_t i = 0; i < nn; i++)
            sum += x[i];
        print_stats(modes[mode], util_stats(nodes, nn, 0, x));
        printf("  %-34s total %lld (exact), nodes full %zu, untouched %zu\n", "", (long long)sum,
               r.num_upper, r.num_lower);
    }
    /* utilisation by GPU model after the water-level balance */
    printf("\nCPU utilisation by node model after balancing (water level):\n");
    const char *seen[32];
    size_t nseen = 0;
    for (size_t i = 0; i < nn && nseen < 32; i++) {
        size_t k = 0;
        while (k < nseen && strcmp(seen[k], nodes[i].model) != 0)
            k++;
        if (k == nseen)
            seen[nseen++] = nodes[i].model;
    }
    for (size_t k = 0; k < nseen; k++) {
        double before = 0, after = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < nn; i++)
            if (strcmp(nodes[i].model, seen[k]) == 0 && cap[i] > 0) {
                before += (double)load[i] / (double)cap[i];
                after += (double)(load[i] + x[i]) / (double)cap[i];
                cnt++;
            }
        printf("  %-8s %4zu nodes: %5.1f%% -> %5.1f%%\n", seen[k], cnt, 100 * before / (double)cnt,
               100 * after / (double)cnt);
    }

    /* Jointly over CPU, memory and GPU: replicas of the average Pending pod. */
    if (pending > 0) {
        int64_t unit[DIMS], *L = malloc(nn * DIMS * sizeof *L), *Cp = malloc(nn * DIMS * sizeof *Cp);
        if (L == NULL || Cp == NULL)
            return 1;
        for (int d = 0; d < DIMS; d++)
            unit[d] = pend_total[d] / (int64_t)pending;
        int64_t room = 0;
        for (size_t i = 0; i < nn; i++) {
            int64_t fit = INT64_MAX;
            for (int d = 0; d < DIMS; d++) {
                L[i * DIMS + d] = nodes[i].load[d];
                Cp[i * DIMS + d] = nodes[i].cap[d];
                if (unit[d] > 0) {
                    int64_t q = (nodes[i].cap[d] - nodes[i].load[d]) / unit[d];
                    fit = q < fit ? q : fit;
                }
            }
            room += fit > 0 ? fit : 0;
        }
        int64_t units = (int64_t)pending < room ? (int64_t)pending : room;
        cs_balance_result r;
        cs_balance_result_init(&r, sizeof r);
        cs_status st = cs_balance_multi_int(ws, nn, DIMS, L, Cp, unit, NULL, units,
                                            CS_BALANCE_SQUARED, x, &r);
        if (st != CS_OK) {
            printf("cs_balance_multi_int: %s\n", cs_status_str(st));
            return 1;
        }
        printf("\n%lld replicas of the average Pending pod (%lld mCPU, %lld MiB, %lld mGPU),"
               " balanced jointly:\n",
               (long long)units, (long long)unit[0], (long long)unit[1], (long long)unit[2]);
        const char *dn[DIMS] = {"CPU", "memory", "GPU"};
        for (int d = 0; d < DIMS; d++) {
            int64_t *extra = malloc(nn * sizeof *extra);
            if (extra == NULL)
                return 1;
            for (size_t i = 0; i < nn; i++)
                extra[i] = x[i] * unit[d];
            char label[64];
            snprintf(label, sizeof label, "%s before", dn[d]);
            print_stats(label, util_stats(nodes, nn, d, NULL));
            snprintf(label, sizeof label, "%s after", dn[d]);
            print_stats(label, util_stats(nodes, nn, d, extra));
            free(extra);
        }
        size_t used = 0;
        int64_t most = 0;
        for (size_t i = 0; i < nn; i++) {
            used += x[i] > 0;
            most = x[i] > most ? x[i] : most;
        }
        printf("  on %zu nodes, at most %lld per node\n", used, (long long)most);
        free(L);
        free(Cp);
    }
    cs_balance_workspace_destroy(ws);
    free(load);
    free(cap);
    free(x);
    free(xp);
    free(nodes);
    free(pods);
    return 0;
}
