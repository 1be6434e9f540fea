#!/usr/bin/env python3
"""Replay a Standard Workload Format (SWF) trace through libcloudsched.

    simulate_swf.py [trace.swf] [--policy fcfs,easy,...|all] [--limit N]
                    [--csv jobs.csv] [--no-progress] [--profile]

The machine is one node with the trace's MaxProcs processors (KTH-SP2: 100);
each job is one replica demanding its requested processors, submitted at its
submit time with the user's requested time as its runtime estimate, and
completed when its actual runtime has elapsed. The trace defaults to
../shared/data/KTH-SP2-1996-2.2.swf; when that is absent (a clean clone) the
1000-job slice tests/data/kth_sp2_slice.swf is used, and the output says so.

Cleaning (the usual one, see ../shared/data/README.md): drop jobs with more
processors than MaxProcs, take requested = allocated processors when one is
missing, drop jobs with run time <= 0 or requested time <= 0, cap the run time
at the requested time. KTH-SP2 keeps 28,481 of 28,490 jobs.

Event loop: the next event is min(next submission, next completion); at each
event time the completions are applied first (they free processors), then
the submissions, then one scheduler step, whose START decisions schedule
completions at now + runtime.

Metrics: wait = start - submit, flow = wait + run, bounded slowdown
max(1, (wait + run) / max(10, run)), utilisation = sum(procs * run) /
(MaxProcs * makespan), makespan = last end - first submit.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

import cloudsched as cs  # noqa: E402

DEFAULT_TRACE = os.path.join(ROOT, "..", "shared", "data", "KTH-SP2-1996-2.2.swf")
FALLBACK_TRACE = os.path.join(ROOT, "tests", "data", "kth_sp2_slice.swf")


@dataclass(frozen=True)
class Job:
    """One cleaned SWF job."""

    id: int        #: SWF job number
    submit: float  #: submit time (s)
    run: float     #: actual runtime (s), capped at the requested time
    procs: int     #: requested processors
    req: float     #: requested time: the user's runtime estimate (s)
    user: int      #: user id (0 when missing)


@dataclass
class Trace:
    """A cleaned trace and what the cleaning did."""

    jobs: List[Job]
    max_procs: int
    read: int = 0                       #: job lines read
    dropped: Dict[str, int] = field(default_factory=dict)
    capped: int = 0                     #: runtimes capped at the requested time


def load_swf(path: str, limit: Optional[int] = None) -> Trace:
    """Parse and clean an SWF log (see the module docstring); ``limit`` job lines at most."""
    max_procs = 0
    jobs: List[Job] = []
    dropped = {"procs > MaxProcs": 0, "no processors": 0, "run <= 0": 0,
               "requested time <= 0": 0}
    raw: List[List[float]] = []
    read = 0
    with open(path) as f:
        for line in f:
            if line.startswith(";"):
                if "MaxProcs:" in line:
                    max_procs = int(line.split("MaxProcs:")[1].split()[0])
                continue
            fields = line.split()
            if len(fields) < 18:
                continue
            if limit is not None and read >= limit:
                break
            read += 1
            raw.append([float(v) for v in fields[:18]])
    if max_procs <= 0:  # no header: the largest request is the machine
        max_procs = int(max((max(v[4], v[7]) for v in raw), default=1))
    capped = 0
    for v in raw:
        alloc, req_procs, run, req_time = v[4], v[7], v[3], v[8]
        if req_procs <= 0:
            req_procs = alloc
        if req_procs <= 0:
            dropped["no processors"] += 1
        elif req_procs > max_procs:
            dropped["procs > MaxProcs"] += 1
        elif run <= 0:
            dropped["run <= 0"] += 1
        elif req_time <= 0:
            dropped["requested time <= 0"] += 1
        else:
            if run > req_time:
                run = req_time
                capped += 1
            jobs.append(Job(int(v[0]), v[1], run, int(req_procs), req_time,
                            int(v[11]) if v[11] > 0 else 0))
    jobs.sort(key=lambda j: (j.submit, j.id))
    return Trace(jobs, max_procs, read, dropped, capped)


# Policies: scheduler options, and whether runtime predictions are used.
POLICIES: Dict[str, Dict[str, object]] = {
    "fcfs": dict(policy="fcfs", head_of_line="strict",
                 help="first come first served, strict (no backfilling)"),
    "greedy": dict(policy="fcfs", head_of_line="skip",
                   help="FCFS order, any job that fits starts (no reservations)"),
    "sjf": dict(policy="sjf", head_of_line="strict",
                help="shortest requested time first, strict"),
    "easy": dict(policy="fcfs", head_of_line="backfill", backfill_depth=1,
                 help="EASY backfilling with the users' estimates"),
    "easy-pred": dict(policy="fcfs", head_of_line="backfill", backfill_depth=1,
                      predict=True,
                      help="EASY backfilling with predicted runtimes (per-user "
                           "log-linear model, history and estimate fallbacks)"),
    "easy-sjf": dict(policy="sjf", head_of_line="backfill", backfill_depth=1,
                     help="SJF order with EASY backfilling"),
    "conservative": dict(policy="fcfs", head_of_line="backfill",
                         backfill_depth=cs.BACKFILL_CONSERVATIVE,
                         help="conservative backfilling (a reservation for every job)"),
    "hrrn": dict(policy="hrrn", head_of_line="backfill", backfill_depth=1,
                 help="highest response ratio next with EASY backfilling"),
    "fairshare": dict(policy="fairshare", head_of_line="backfill", backfill_depth=1,
                      help="fair share by user (7-day half-life), EASY backfilling"),
}


@dataclass
class Result:
    """What one replay produced."""

    policy: str
    start: Dict[int, float]            #: job id -> start time
    seconds: float                     #: wall time of the replay
    events: int                        #: distinct event times
    library_seconds: float = math.nan  #: time inside Scheduler calls, bindings + C (--profile)
    metrics: Dict[str, float] = field(default_factory=dict)


def _progress(policy: str, done: int, total: int, t0: float) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{policy:>12} [{'#' * filled}{'.' * (width - filled)}] "
                     f"{done}/{total} jobs  {time.perf_counter() - t0:6.1f} s")
    sys.stderr.flush()


def simulate(trace: Trace, policy: str, progress: bool = False,
             profile: bool = False) -> Result:
    """Replay the trace under one policy; return start times and metrics."""
    conf = dict(POLICIES[policy])
    conf.pop("help")
    predict = bool(conf.pop("predict", False))
    jobs = trace.jobs
    t0 = time.perf_counter()
    lib_time = 0.0
    clock = time.perf_counter
    with cs.Pool(["cpu"]) as pool:
        pool.add_node([trace.max_procs], id=0)
        predictor = cs.Predictor(num_features=1) if predict else None
        sched = cs.Scheduler(pool, predictor=predictor, use_predictions=predict,
                             **conf)  # type: ignore[arg-type]
        by_id = {j.id: j for j in jobs}
        start: Dict[int, float] = {}
        ends: List[Tuple[float, int]] = []  # heap of (end time, job id)
        i, n, events = 0, len(jobs), 0
        step_every = max(n // 200, 1)
        inf = math.inf
        while i < n or ends:
            now = min(jobs[i].submit if i < n else inf, ends[0][0] if ends else inf)
            events += 1
            c0 = clock() if profile else 0.0
            while ends and ends[0][0] == now:
                sched.complete(heapq.heappop(ends)[1], now)
            while i < n and jobs[i].submit == now:
                j = jobs[i]
                sched.submit(cs.Task(j.id, [j.procs], tenant=j.user,
                                     runtime_estimate=j.req,
                                     features=[math.log(j.procs)] if predict else None),
                             now)
                i += 1
            decisions = sched.step(now)
            if profile:
                lib_time += clock() - c0
            for d in decisions:
                start[d.task] = now
                heapq.heappush(ends, (now + by_id[d.task].run, d.task))
            if not ends and i >= n and len(start) < n:
                raise RuntimeError(f"{policy}: {n - len(start)} jobs can never start")
            if progress and events % step_every == 0:
                _progress(policy, len(start), n, t0)
        sched.check()
        sched.close()
        if predictor is not None:
            predictor.close()
    if progress:
        _progress(policy, len(start), n, t0)
        sys.stderr.write("\n")
    result = Result(policy, start, time.perf_counter() - t0, events,
                    lib_time if profile else math.nan)
    result.metrics = metrics(trace, start)
    return result


def metrics(trace: Trace, start: Dict[int, float]) -> Dict[str, float]:
    """Average wait, flow and bounded slowdown, utilisation and makespan."""
    jobs = trace.jobs
    if not jobs:
        return {}
    wait = [start[j.id] - j.submit for j in jobs]
    flow = [w + j.run for w, j in zip(wait, jobs)]
    bsld = [max(1.0, f / max(10.0, j.run)) for f, j in zip(flow, jobs)]
    first = min(j.submit for j in jobs)
    last = max(start[j.id] + j.run for j in jobs)
    makespan = last - first
    work = sum(j.procs * j.run for j in jobs)
    return {
        "jobs": len(jobs),
        "avg_wait": sum(wait) / len(jobs),
        "avg_flow": sum(flow) / len(jobs),
        "avg_bsld": sum(bsld) / len(jobs),
        "max_wait": max(wait),
        "utilisation": work / (trace.max_procs * makespan) if makespan > 0 else 0.0,
        "makespan": makespan,
    }


def write_csv(out: TextIO, trace: Trace, results: Sequence[Result]) -> None:
    """One row per job and policy."""
    w = csv.writer(out)
    w.writerow(["policy", "job", "user", "submit", "start", "end", "procs", "run",
                "requested", "wait", "bounded_slowdown"])
    for r in results:
        for j in trace.jobs:
            s = r.start[j.id]
            wait = s - j.submit
            w.writerow([r.policy, j.id, j.user, f"{j.submit:.0f}", f"{s:.0f}",
                        f"{s + j.run:.0f}", j.procs, f"{j.run:.0f}", f"{j.req:.0f}",
                        f"{wait:.0f}", f"{max(1.0, (wait + j.run) / max(10.0, j.run)):.4f}"])


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="policies: " + "; ".join(f"{k}: {v['help']}" for k, v in POLICIES.items()))
    ap.add_argument("trace", nargs="?", default=DEFAULT_TRACE,
                    help="SWF file (default: the KTH-SP2 log in ../shared/data)")
    ap.add_argument("--policy", default="fcfs,sjf,easy,easy-pred,fairshare",
                    help="comma-separated policies, or 'all' (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=None, help="replay the first N job lines")
    ap.add_argument("--csv", default=None, help="write per-job results to this CSV file")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--profile", action="store_true",
                    help="also measure the time spent inside Scheduler calls")
    args = ap.parse_args(argv)

    policies = list(POLICIES) if args.policy == "all" else args.policy.split(",")
    for p in policies:
        if p not in POLICIES:
            ap.error(f"unknown policy {p!r}; choose from {', '.join(POLICIES)} or all")
    path = args.trace
    if not os.path.exists(path):
        print(f"note: {path} not found; using the built-in 1000-job slice "
              f"{os.path.relpath(FALLBACK_TRACE)}", file=sys.stderr)
        path = FALLBACK_TRACE
    trace = load_swf(path, args.limit)
    drops = ", ".join(f"{v} {k}" for k, v in trace.dropped.items() if v)
    print(f"trace {os.path.basename(path)}: {trace.read} jobs read, {len(trace.jobs)} kept"
          f"{' (dropped: ' + drops + ')' if drops else ''}, {trace.capped} runtimes capped "
          f"at the requested time; machine: 1 node x {trace.max_procs} processors")
    progress = sys.stderr.isatty() and not args.no_progress
    results = []
    header = (f"{'policy':>12} {'avg wait':>10} {'avg flow':>10} {'avg bsld':>9} "
              f"{'util':>6} {'makespan':>10} {'replay':>8} {'events/s':>9}")
    rows = []
    for p in policies:
        r = simulate(trace, p, progress=progress, profile=args.profile)
        results.append(r)
        m = r.metrics
        row = (f"{p:>12} {m['avg_wait']:>10.0f} {m['avg_flow']:>10.0f} "
               f"{m['avg_bsld']:>9.2f} {m['utilisation']:>6.3f} {m['makespan']:>10.0f} "
               f"{r.seconds:>7.2f}s {r.events / r.seconds:>9.0f}")
        if args.profile:
            row += f"  (in Scheduler calls: {100 * r.library_seconds / r.seconds:.0f}%)"
        rows.append(row)
        if not progress:
            print(row if len(rows) > 1 else header + "\n" + row, flush=True)
    if progress:
        print(header)
        print("\n".join(rows))
    print("times in seconds; bsld = bounded slowdown max(1, flow / max(10, run)); "
          "replay = wall time of the whole replay")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            write_csv(f, trace, results)
        print(f"per-job results written to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
