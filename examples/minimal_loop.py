#!/usr/bin/env python3
"""minimal_loop: the smallest complete embedding of the scheduler, from Python.

The same program as examples/minimal_loop.c, line for line, through the
cloudsched bindings; it prints exactly what the C version prints.

The caller owns time. Here "time" is simulated: a loop jumps from event to
event (an arrival or a completion), tells the scheduler what happened, and
asks it what to start. A real embedding does the same with its own clock,
its own job launcher and its own notion of "job finished".
"""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "bindings", "python"))
import cloudsched as cs  # noqa: E402

# A job: when it arrives, how long it really runs, how long its user thinks it
# runs (the estimate backfilling plans with), and what it needs.
JOBS = [  # arrival, runtime, estimate, cpu_milli, mem_mib
    (0, 30, 40, 4000, 8192), (1, 10, 20, 8000, 16384),
    (2, 50, 60, 6000, 4096), (3, 5, 10, 1000, 1024),
    (4, 20, 30, 8000, 32768), (6, 8, 10, 2000, 2048),
]
WHY = {cs.DecisionReason.IN_ORDER: "in order", cs.DecisionReason.SKIP_AHEAD: "skip-ahead",
       cs.DecisionReason.BACKFILL: "backfill",
       cs.DecisionReason.AFTER_PREEMPTION: "after preemption",
       cs.DecisionReason.PREEMPTED: "preempted"}


def main() -> int:
    # Two nodes of 8 cpus (millicores) and 32 GiB.
    with cs.Pool(["cpu_milli", "mem_mib"]) as pool:
        pool.add_node([8000, 32768], 1)
        pool.add_node([8000, 32768], 2)
        # FCFS with EASY backfilling (the defaults), best-fit placement.
        with cs.Scheduler(pool, placement=cs.Placement.BEST_FIT) as sched:
            started = [math.nan] * len(JOBS)
            next_arrival, done, now = 0, 0, 0.0
            while done < len(JOBS):
                # Everything that happens at `now`: completions, then arrivals.
                for i, job in enumerate(JOBS):
                    if not math.isnan(started[i]) and started[i] + job[1] == now:
                        sched.complete(i, now)
                        print(f"t={now:5.1f}  job {i} done")
                        done += 1
                while next_arrival < len(JOBS) and JOBS[next_arrival][0] == now:
                    _, _, estimate, cpu, mem = JOBS[next_arrival]
                    sched.submit(cs.Task(next_arrival, [cpu, mem], runtime_estimate=estimate),
                                 now)
                    next_arrival += 1
                # Ask what to start now, and start it.
                for d in sched.step(now):
                    print(f"t={now:5.1f}  start job {d.task} on node {d.node} ({WHY[d.reason]})")
                    started[d.task] = now
                sched.check()
                # Jump to the next event.
                nxt = math.inf
                if next_arrival < len(JOBS):
                    nxt = JOBS[next_arrival][0]
                for i, job in enumerate(JOBS):
                    end = started[i] + job[1]
                    if not math.isnan(started[i]) and now < end < nxt:
                        nxt = end
                if math.isinf(nxt):
                    break
                now = nxt
    wait = sum(s - job[0] for s, job in zip(started, JOBS))
    print(f"all {done} jobs done at t={now:.1f}, average wait {wait / len(JOBS):.2f} s")
    return 0 if done == len(JOBS) else 1


if __name__ == "__main__":
    sys.exit(main())
