#!/usr/bin/env python3
"""Balance new demand over the heterogeneous nodes of the Alibaba 2023 GPU
cluster trace and print the resulting utilisations.

    balance_alibaba.py [DATA_DIR]

The same program as examples/balance_alibaba.c, through the Python bindings
(it prints exactly what the C version prints). DATA_DIR holds
alibaba-gpu-v2023/openb_node_list_all_node.csv and openb_pod_list_default.csv
(default: ../shared/data); when they cannot be read, a small built-in slice
of the same files is used instead, and the output says so.

1. The nodes' capacities (cpu_milli, memory_mib, gpu milli-GPUs) come from
   the node list.
2. The trace does not say where pods ran, so the current load is made by
   placing the Running pods first-fit in file order (a stand-in for the
   scheduler's state).
3. The Pending pods are the new demand. Their total CPU is spread over the
   nodes with BalanceWorkspace.utilisation_int (CPU utilisations as equal as
   possible, never above capacity), compared with a split proportional to
   free CPU; then the Pending pods' average demand vector is placed jointly
   over CPU, memory and GPU with BalanceWorkspace.multi_int.
"""

import math
import os
import sys
from typing import List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "bindings", "python"))
import cloudsched as cs  # noqa: E402

DIMS = 3  # cpu_milli, memory_mib, gpu milli-GPUs

BUILTIN_NODES = [
    "openb-node-0000,32000,262144,0,", "openb-node-0130,96000,393216,8,G2",
    "openb-node-0131,96000,393216,8,G2", "openb-node-0132,96000,393216,8,G2",
    "openb-node-0700,104000,524288,2,T4", "openb-node-0701,104000,524288,2,T4",
    "openb-node-0702,104000,524288,2,T4", "openb-node-1100,16000,122880,2,P100",
    "openb-node-1101,16000,122880,2,P100", "openb-node-1300,128000,786432,8,G3",
    "openb-node-1350,32000,131072,4,V100M16", "openb-node-1400,96000,786432,8,V100M32",
]
BUILTIN_PODS = [
    "p0,12000,16384,1,1000,,LS,Running", "p1,6000,12288,1,460,,LS,Running",
    "p2,8000,30000,1,1000,,LS,Running", "p3,4000,15000,1,500,,BE,Running",
    "p4,32000,131072,8,1000,,LS,Running", "p5,16000,65536,2,1000,,LS,Running",
    "p6,2000,4096,0,0,,BE,Running", "p7,24000,98304,4,1000,,LS,Running",
    "p8,8000,32768,1,1000,,LS,Pending", "p9,4000,16384,1,500,,BE,Pending",
    "p10,6000,24576,1,1000,,LS,Pending", "p11,12000,49152,2,1000,,LS,Pending",
    "p12,2000,8192,0,0,,BE,Pending", "p13,16000,65536,1,1000,,LS,Pending",
]


class Node:
    def __init__(self, line: str) -> None:
        f = line.rstrip("\r\n").split(",")
        self.cap = [int(f[1]), int(f[2]), int(f[3]) * 1000]
        self.load = [0, 0, 0]
        self.model = f[4] if len(f) > 4 and f[4] else "CPU"


class Pod:
    def __init__(self, line: str) -> None:
        f = line.rstrip("\r\n").split(",")
        # milli-GPUs: gpu_milli < 1000 is a shared GPU
        self.dem = [int(f[1]), int(f[2]), int(f[3]) * int(f[4])]
        self.running = f[7] == "Running"
        self.pending = f[7] == "Pending"


def read_csv(path: str) -> Optional[List[str]]:
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return None
    return lines[1:] if lines else None


def util_stats(nodes: Sequence[Node], d: int, extra: Optional[Sequence[int]] = None):
    us = [(n.load[d] + (extra[i] if extra else 0)) / n.cap[d]
          for i, n in enumerate(nodes) if n.cap[d] != 0]
    if not us:
        return 0.0, 0.0, math.inf, -math.inf
    mean = sum(us) / len(us)
    sd = math.sqrt(max(0.0, sum(u * u for u in us) / len(us) - mean * mean))
    return mean, sd, min(us), max(us)


def print_stats(label: str, s) -> None:
    mean, sd, lo, hi = s
    print(f"  {label:<34} mean {100 * mean:5.1f}%  sd {100 * sd:5.1f}%  "
          f"min {100 * lo:5.1f}%  max {100 * hi:5.1f}%")


def main(argv: Sequence[str]) -> int:
    data = argv[1] if len(argv) > 1 else os.path.join(HERE, os.pardir, os.pardir, "shared",
                                                       "data")
    node_lines = read_csv(os.path.join(data, "alibaba-gpu-v2023",
                                       "openb_node_list_all_node.csv"))
    pod_lines = read_csv(os.path.join(data, "alibaba-gpu-v2023",
                                      "openb_pod_list_default.csv")) if node_lines else None
    if not node_lines or not pod_lines:
        print(f"Alibaba trace not found under {data}: using the built-in slice "
              f"({len(BUILTIN_NODES)} nodes, {len(BUILTIN_PODS)} pods)")
        node_lines, pod_lines = BUILTIN_NODES, BUILTIN_PODS
    else:
        print(f"Alibaba GPU trace 2023 from {data}: {len(node_lines)} nodes, "
              f"{len(pod_lines)} pods")
    nodes = [Node(line) for line in node_lines]
    pods = [Pod(line) for line in pod_lines]
    nn = len(nodes)

    # Current load: Running pods first-fit in file order.
    placed = unplaced = pending = 0
    pend_total = [0, 0, 0]
    for p in pods:
        if p.pending:
            pending += 1
            pend_total = [a + b for a, b in zip(pend_total, p.dem)]
        if not p.running:
            continue
        for n in nodes:
            if all(n.load[d] + p.dem[d] <= n.cap[d] for d in range(DIMS)):
                n.load = [a + b for a, b in zip(n.load, p.dem)]
                placed += 1
                break
        else:
            unplaced += 1
    print(f"current load: {placed} Running pods placed first-fit ({unplaced} did not fit)")
    print_stats("CPU utilisation now", util_stats(nodes, 0))

    # New demand: the Pending pods' CPU, balanced.
    load = [n.load[0] for n in nodes]
    cap = [n.cap[0] for n in nodes]
    free_total = sum(c - l for c, l in zip(cap, load))
    demand = min(pend_total[0], free_total)
    print(f"\nnew demand: {pending} Pending pods, {demand} millicores of CPU "
          f"(free: {free_total})")
    with cs.BalanceWorkspace() as ws:
        # baseline: proportional to free capacity (largest remainders keep the total)
        xp = [int(demand * (c - l) / free_total) for c, l in zip(cap, load)]
        given, i = sum(xp), 0
        while given < demand:
            if xp[i] < cap[i] - load[i]:
                xp[i] += 1
                given += 1
            i = (i + 1) % nn
        print_stats("proportional to free CPU", util_stats(nodes, 0, xp))
        labels = {cs.BalanceMode.SQUARED: "balanced (squared deviation)",
                  cs.BalanceMode.LEVEL: "balanced (water level)"}
        for mode, label in labels.items():
            r = ws.utilisation_int(load, cap, demand, mode)
            x = r.x
            print_stats(label, util_stats(nodes, 0, x))
            print(f"  {'':<34} total {sum(x)} (exact), nodes full {r.result.num_upper}, "
                  f"untouched {r.result.num_lower}")

        # Utilisation by node model after the water-level balance.
        print("\nCPU utilisation by node model after balancing (water level):")
        models: List[str] = []
        for n in nodes:
            if n.model not in models:
                models.append(n.model)
        for m in models[:32]:
            idx = [i for i, n in enumerate(nodes) if n.model == m and cap[i] > 0]
            before = sum(load[i] / cap[i] for i in idx)
            after = sum((load[i] + x[i]) / cap[i] for i in idx)
            print(f"  {m:<8} {len(idx):4d} nodes: {100 * before / len(idx):5.1f}% -> "
                  f"{100 * after / len(idx):5.1f}%")

        # Jointly over CPU, memory and GPU: replicas of the average Pending pod.
        if pending > 0:
            unit = [t // pending for t in pend_total]
            room = 0
            for n in nodes:
                fit = min(((n.cap[d] - n.load[d]) // unit[d] for d in range(DIMS)
                           if unit[d] > 0), default=(1 << 63) - 1)
                room += max(fit, 0)
            units = min(pending, room)
            r = ws.multi_int([n.load for n in nodes], [n.cap for n in nodes], unit, units,
                             mode=cs.BalanceMode.SQUARED)
            x = r.x
            print(f"\n{units} replicas of the average Pending pod ({unit[0]} mCPU, "
                  f"{unit[1]} MiB, {unit[2]} mGPU), balanced jointly:")
            for d, name in enumerate(("CPU", "memory", "GPU")):
                print_stats(f"{name} before", util_stats(nodes, d))
                print_stats(f"{name} after", util_stats(nodes, d, [v * unit[d] for v in x]))
            print(f"  on {sum(1 for v in x if v > 0)} nodes, at most {max(x)} per node")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
