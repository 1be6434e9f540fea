#!/usr/bin/env python3
"""Place the Alibaba 2023 GPU-cluster task list on its node list under several
placement strategies, until the first task that does not fit.

    gpu_cluster.py [--data-dir DIR] [--pods FILE] [--nodes FILE]
                   [--strategies first_fit,best_fit,...|all] [--plot FILE | --no-plot]

Tasks arrive in creation order and never leave (the setting of Weng et al.,
"Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation
Gradient Descent", USENIX ATC 2023, whose trace this is). For each strategy
the report gives how many tasks, and what fraction of the requested GPUs,
were placed before the first failure, the share of the cluster's GPUs then
allocated, and how many tasks fit in all if failures are skipped. With
matplotlib (optional) it plots the allocated GPU fraction against the
tasks arrived.

GPU model. The pool has three resources: cpu_milli, memory_mib and
gpu_milli, a node with g GPUs having g * 1000 milli-GPUs, and the library's
placement strategies choose nodes on those aggregates. Aggregates are not the
whole truth: a task with gpu_milli < 1000 and num_gpu 1 shares ONE GPU (it
needs a single GPU with that much left), and a task with num_gpu = k needs k
whole, unshared GPUs. The example therefore keeps every GPU's free
milli-GPUs itself and accepts a node the scheduler picks only if the task
fits there physically: a shared task goes to the GPU with the least room
that still holds it (best fit, keeping whole GPUs free), a k-GPU task takes
k fully free GPUs. When the pick fails that test (fragmentation: enough
milli-GPUs in total, but spread over GPUs), the task is cancelled, the node
drained, the task resubmitted and the step repeated, until the scheduler
finds a node that fits or none is left; drained nodes then return to
service. Every accepted placement is thus physically valid, and the choice
among valid nodes is the strategy's. GPU-type constraints (gpu_spec, in the
gpuspec33 task list) use a node label when they name one model and the same
reject-and-retry step when they name several.

Data: ../shared/data/alibaba-gpu-v2023 by default; without it (a clean
clone) a slice in bindings/python/tests/data (every 30th node, the first 300
tasks) is used, and the output says so.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import cloudsched as cs  # noqa: E402

DEFAULT_DIR = os.path.join(ROOT, "..", "shared", "data", "alibaba-gpu-v2023")
SLICE_DIR = os.path.join(ROOT, "bindings", "python", "tests", "data")
SLICE_NODES = os.path.join(SLICE_DIR, "alibaba_nodes_slice.csv")
SLICE_PODS = os.path.join(SLICE_DIR, "alibaba_pods_slice.csv")

STRATEGIES = ["first_fit", "best_fit", "worst_fit", "least_allocated", "most_allocated",
              "balanced", "dot_product"]


@dataclass(frozen=True)
class Node:
    name: str
    cpu: int      #: millicores
    mem: int      #: MiB
    gpus: int     #: physical GPUs
    model: str    #: GPU model ("" for CPU nodes)


@dataclass(frozen=True)
class Task:
    name: str
    cpu: int
    mem: int
    num_gpu: int
    gpu_milli: int
    spec: Tuple[str, ...]  #: allowed GPU models (empty: any)

    @property
    def shared(self) -> bool:
        """A fraction of one GPU."""
        return self.num_gpu == 1 and self.gpu_milli < 1000

    @property
    def milli(self) -> int:
        """Milli-GPUs requested."""
        return self.gpu_milli if self.shared else 1000 * self.num_gpu


def load_nodes(path: str) -> List[Node]:
    with open(path, newline="") as f:
        return [Node(r["sn"], int(r["cpu_milli"]), int(r["memory_mib"]), int(r["gpu"]),
                     r.get("model") or "") for r in csv.DictReader(f)]


def load_tasks(path: str) -> List[Task]:
    """Tasks in arrival order: by creation_time when the file has it, else file order."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and rows[0].get("creation_time", "") != "":
        rows = [r for _, r in sorted(enumerate(rows),
                                     key=lambda p: (int(p[1]["creation_time"]), p[0]))]
    tasks = []
    for r in rows:
        k, m = int(r["num_gpu"]), int(r["gpu_milli"])
        spec = tuple(sorted(set(s for s in (r.get("gpu_spec") or "").split("|") if s)))
        tasks.append(Task(r["name"], int(r["cpu_milli"]), int(r["memory_mib"]), k,
                          m if k else 0, spec))
    return tasks


class Gpus:
    """Free milli-GPUs of every physical GPU, per node (the example's own state)."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.free = [[1000] * n.gpus for n in nodes]

    def choose(self, node: int, task: Task) -> Optional[List[int]]:
        """The GPUs the task would use on the node, or None if it does not fit."""
        free = self.free[node]
        if task.num_gpu == 0:
            return []
        if task.shared:
            fits = [(f, g) for g, f in enumerate(free) if f >= task.gpu_milli]
            return [min(fits)[1]] if fits else None  # least room that fits
        whole = [g for g, f in enumerate(free) if f == 1000]
        return whole[:task.num_gpu] if len(whole) >= task.num_gpu else None

    def take(self, node: int, task: Task, gpus: List[int]) -> None:
        for g in gpus:
            self.free[node][g] -= task.gpu_milli if task.shared else 1000


@dataclass
class Outcome:
    strategy: str
    placed_before_failure: int = 0
    gpu_milli_before_failure: int = 0
    first_failure: Optional[str] = None
    placed_total: int = 0
    gpu_milli_total: int = 0
    rejected_picks: int = 0          #: scheduler picks refused by the GPU model
    curve: List[float] = field(default_factory=list)  #: allocated GPU fraction per arrival
    #: task index -> (node index, GPUs used) for every placed task
    placements: Dict[int, Tuple[int, List[int]]] = field(default_factory=dict)
    seconds: float = 0.0


def run(nodes: Sequence[Node], tasks: Sequence[Task], strategy: str) -> Outcome:
    """Place every task in arrival order; record the first failure."""
    out = Outcome(strategy)
    t0 = time.perf_counter()
    gpu_capacity = 1000 * sum(n.gpus for n in nodes)
    allocated = 0
    gpus = Gpus(nodes)
    with cs.Pool(["cpu_milli", "memory_mib", "gpu_milli"]) as pool:
        for i, n in enumerate(nodes):
            pool.add_node([n.cpu, n.mem, 1000 * n.gpus], i,
                          labels={"model": n.model} if n.model else None)
        with cs.Scheduler(pool, placement=strategy, head_of_line="strict") as sched:
            for k, task in enumerate(tasks):
                now = float(k)
                labels = {"model": task.spec[0]} if len(task.spec) == 1 else None
                spec = cs.Task(k, [task.cpu, task.mem, task.milli], labels=labels)
                drained: List[int] = []
                placed = None
                sched.submit(spec, now)
                while True:
                    decisions = sched.step(now)
                    if not decisions:
                        break
                    node = decisions[0].node
                    choice = gpus.choose(node, task)
                    if choice is not None and (not task.spec or nodes[node].model in task.spec):
                        gpus.take(node, task, choice)
                        placed = node
                        out.placements[k] = (node, choice)
                        break
                    # Not physically possible there: undo, exclude the node, retry.
                    out.rejected_picks += 1
                    sched.cancel(k, now)
                    sched.forget(k)
                    sched.drain_node(node, now)
                    drained.append(node)
                    sched.submit(spec, now)
                for node in drained:
                    sched.node_up(node, now)
                if placed is None:
                    sched.cancel(k, now)  # pending: it fits nowhere
                    if out.first_failure is None:
                        out.first_failure = task.name
                else:
                    allocated += task.milli
                    out.placed_total += 1
                    out.gpu_milli_total += task.milli
                    if out.first_failure is None:
                        out.placed_before_failure += 1
                        out.gpu_milli_before_failure += task.milli
                out.curve.append(allocated / gpu_capacity if gpu_capacity else 0.0)
            sched.check()
    out.seconds = time.perf_counter() - t0
    return out


def plot(outcomes: Sequence[Outcome], path: str) -> bool:
    """Allocated GPU fraction against tasks arrived; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(8, 5))
    for o in outcomes:
        line, = ax.plot(range(1, len(o.curve) + 1), o.curve, label=o.strategy, lw=1.2)
        if o.first_failure is not None:
            x = o.placed_before_failure
            ax.plot([x + 1], [o.curve[x]], "o", color=line.get_color())
    ax.set_xlabel("tasks arrived")
    ax.set_ylabel("allocated GPU fraction of the cluster")
    ax.set_title("Alibaba 2023 GPU trace: placement strategies (dot = first failure)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=DEFAULT_DIR,
                    help="directory of the Alibaba 2023 trace (default: %(default)s)")
    ap.add_argument("--pods", default="openb_pod_list_default.csv",
                    help="task list in the data directory (default: %(default)s)")
    ap.add_argument("--nodes", default="openb_node_list_all_node.csv",
                    help="node list in the data directory (default: %(default)s)")
    ap.add_argument("--strategies", default="all",
                    help="comma-separated placements, or all: " + ", ".join(STRATEGIES))
    ap.add_argument("--plot", default="gpu_cluster.png", help="PNG to write (needs matplotlib)")
    ap.add_argument("--no-plot", action="store_true", help="do not plot")
    args = ap.parse_args(argv)

    strategies = STRATEGIES if args.strategies == "all" else args.strategies.split(",")
    for s in strategies:
        if s.upper() not in cs.Placement.__members__:
            ap.error(f"unknown strategy {s!r}")
    node_path = os.path.join(args.data_dir, args.nodes)
    pod_path = os.path.join(args.data_dir, args.pods)
    if os.path.exists(node_path) and os.path.exists(pod_path):
        source = f"{args.data_dir}: {args.nodes}, {args.pods}"
    else:
        print(f"note: the trace is not under {args.data_dir}; using the built-in slice "
              f"(every 30th node, the first 300 tasks) in {os.path.relpath(SLICE_DIR)}",
              file=sys.stderr)
        node_path, pod_path, source = SLICE_NODES, SLICE_PODS, "built-in slice"
    nodes, tasks = load_nodes(node_path), load_tasks(pod_path)
    gpus = sum(n.gpus for n in nodes)
    requested = sum(t.milli for t in tasks)
    kinds = {"cpu only": sum(t.num_gpu == 0 for t in tasks),
             "shared GPU": sum(t.shared for t in tasks),
             "whole GPUs": sum(t.num_gpu > 0 and not t.shared for t in tasks)}
    print(f"{source}\n{len(nodes)} nodes with {gpus} GPUs; {len(tasks)} tasks ("
          + ", ".join(f"{v} {k}" for k, v in kinds.items())
          + f") requesting {requested / 1000:.1f} GPUs")
    print(f"{'strategy':>16} {'tasks placed':>13} {'of tasks':>9} {'of req. GPUs':>13} "
          f"{'GPUs alloc.':>12} {'all, skipping':>14} {'rejected':>9} {'time':>7}")
    outcomes = []
    for s in strategies:
        o = run(nodes, tasks, s)
        outcomes.append(o)
        print(f"{s:>16} {o.placed_before_failure:>13} "
              f"{o.placed_before_failure / len(tasks):>9.1%} "
              f"{o.gpu_milli_before_failure / requested if requested else 0:>13.1%} "
              f"{o.gpu_milli_before_failure / (1000 * gpus) if gpus else 0:>12.1%} "
              f"{o.placed_total:>14} {o.rejected_picks:>9} {o.seconds:>6.2f}s", flush=True)
    print("tasks placed / of tasks / of req. GPUs / GPUs alloc.: before the first task that "
          "fits nowhere (requested GPUs placed, and the cluster's GPUs then allocated); "
          "all, skipping: tasks placed when failures are skipped; rejected: scheduler picks "
          "refused because the task did not fit the node's individual GPUs")
    if not args.no_plot:
        if plot(outcomes, args.plot):
            print(f"plot written to {args.plot}")
        else:
            print("matplotlib is not installed: no plot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
