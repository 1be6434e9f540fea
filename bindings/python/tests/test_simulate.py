"""examples/simulate_swf.py against independent reference simulators.

The references below are written from the textbook definitions, in plain
Python, without the library: strict FCFS, and EASY backfilling (Lifka 1995;
Mu'alem and Feitelson 2001) on one machine of P processors with runtime
estimates = requested times. They replay the KTH-SP2 slice in tests/data and
must give every job the same start time as the library does (they also agree
job for job on the full KTH-SP2 log, 28,481 jobs: checked by hand).
"""

import heapq
import importlib.util
import io
import os
import sys
import unittest

import _setup

SPEC = importlib.util.spec_from_file_location(
    "simulate_swf", os.path.join(_setup.ROOT, "examples", "simulate_swf.py"))
sim = importlib.util.module_from_spec(SPEC)
sys.modules["simulate_swf"] = sim  # dataclasses look their module up
SPEC.loader.exec_module(sim)

SLICE = os.path.join(_setup.ROOT, "tests", "data", "kth_sp2_slice.swf")


def reference(jobs, procs, easy):
    """Start times under strict FCFS (easy=False) or EASY backfilling.

    Event times: completions first, then submissions, then scheduling, as
    the example does. EASY: start jobs in FCFS order while they fit; the first
    that does not fit gets a reservation at the shadow time (the earliest
    estimated end after which enough processors are free); a later job
    starts now if it fits now and either ends (by its estimate) no later
    than the shadow time or uses only the processors left over at the
    shadow time (the "extra" processors)."""
    order = sorted(jobs, key=lambda j: (j.submit, j.id))
    queue, running, start = [], [], {}  # running: (end, est_end, procs, id)
    free, i, n = procs, 0, len(order)
    while i < n or running:
        now = min(order[i].submit if i < n else float("inf"),
                  min(r[0] for r in running) if running else float("inf"))
        for r in [r for r in running if r[0] == now]:
            running.remove(r)
            free += r[2]
        while i < n and order[i].submit == now:
            queue.append(order[i])
            i += 1
        while queue and queue[0].procs <= free:
            j = queue.pop(0)
            start[j.id] = now
            running.append((now + j.run, now + j.req, j.procs, j.id))
            free -= j.procs
        if easy and queue:
            head = queue[0]
            avail, shadow = free, None
            for est_end, p in sorted((r[1], r[2]) for r in running):
                if shadow is not None and est_end > shadow:
                    break
                avail += p  # every release at the shadow time counts
                if avail >= head.procs:
                    shadow = est_end
            extra = avail - head.procs
            for j in list(queue[1:]):
                if j.procs > free:
                    continue
                if now + j.req <= shadow:
                    pass
                elif j.procs <= extra:
                    extra -= j.procs
                else:
                    continue
                queue.remove(j)
                start[j.id] = now
                running.append((now + j.run, now + j.req, j.procs, j.id))
                free -= j.procs
    return start


class AgainstReference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.trace = sim.load_swf(SLICE)

    def test_cleaning(self):
        # The slice: 1000 job lines; the cleaning rules drop some and cap
        # some runtimes. Check every kept job against the rules directly.
        t = self.trace
        self.assertEqual(t.read, 1000)
        self.assertEqual(t.max_procs, 100)
        self.assertEqual(len(t.jobs) + sum(t.dropped.values()), 1000)
        for j in t.jobs:
            self.assertTrue(0 < j.procs <= 100 and j.run > 0 and j.req > 0)
            self.assertLessEqual(j.run, j.req)

    def test_fcfs_matches(self):
        got = sim.simulate(self.trace, "fcfs").start
        want = reference(self.trace.jobs, self.trace.max_procs, easy=False)
        self.assertEqual(got, want)

    def test_easy_matches(self):
        got = sim.simulate(self.trace, "easy").start
        want = reference(self.trace.jobs, self.trace.max_procs, easy=True)
        diff = [j for j in want if got[j] != want[j]]
        self.assertEqual(diff, [], f"{len(diff)} jobs start at different times")

    def test_every_policy_is_feasible(self):
        # Whatever the policy: no job starts before its submission, and the
        # processors in use never exceed the machine.
        for policy in sim.POLICIES:
            with self.subTest(policy=policy):
                r = sim.simulate(self.trace, policy)
                events = []
                for j in self.trace.jobs:
                    s = r.start[j.id]
                    self.assertGreaterEqual(s, j.submit)
                    events += [(s + j.run, -j.procs), (s, j.procs)]
                used = 0
                for _, delta in sorted(events):  # ends before starts at equal times
                    used += delta
                    self.assertLessEqual(used, self.trace.max_procs)


class TextbookEasy(unittest.TestCase):
    def test_two_backfills_in_one_step(self):
        # 10 cpus; task 1 (6 cpus, estimate 100) runs; task 2 (8 cpus) waits
        # for 100 with a reservation; 2 cpus are left over at 100. Task 3
        # (2 cpus, ends at 52) and task 4 (2 cpus, runs past 100 on the 2
        # left-over cpus) both fit without delaying task 2: EASY starts both
        # in one step (task 3 ends before the reservation, so it does not
        # use up the left-over cpus).
        import cloudsched as cs
        with cs.Pool(["cpu"]) as pool:
            pool.add_node([10], 0)
            with cs.Scheduler(pool, head_of_line="backfill", backfill_depth=1) as s:
                s.submit(cs.Task(1, [6], runtime_estimate=100), 0)
                s.step(0)
                s.submit(cs.Task(2, [8], runtime_estimate=100), 1)
                s.submit(cs.Task(3, [2], runtime_estimate=50), 2)
                s.submit(cs.Task(4, [2], runtime_estimate=200), 2)
                self.assertEqual([d.task for d in s.step(2)], [3, 4])


class Metrics(unittest.TestCase):
    def test_by_hand(self):
        # Machine of 10; jobs (submit, run, procs): A (0, 100, 10), B (0, 5, 2),
        # C (50, 20, 10). FCFS: A 0-100, B waits to 100 (100-105), C 105-125.
        # Waits 0, 100, 55: mean 155/3. Flows 100, 105, 75: mean 280/3.
        # Bounded slowdowns: A 1, B 105/max(10, 5) = 10.5, C 75/20 = 3.75.
        # Work 1000 + 10 + 200 = 1210 over 10 x 125: utilisation 0.968.
        J = sim.Job
        trace = sim.Trace([J(1, 0, 100, 10, 100, 1), J(2, 0, 5, 2, 5, 1),
                           J(3, 50, 20, 10, 20, 2)], 10)
        m = sim.simulate(trace, "fcfs").metrics
        self.assertAlmostEqual(m["avg_wait"], 155 / 3)
        self.assertAlmostEqual(m["avg_flow"], 280 / 3)
        self.assertAlmostEqual(m["avg_bsld"], (1 + 10.5 + 3.75) / 3)
        self.assertAlmostEqual(m["utilisation"], 0.968)
        self.assertEqual(m["makespan"], 125)
        # Greedy (skip ahead) cannot do better here: A holds all 10 cpus
        # until 100, and at 100 C (10 cpus) must wait for B (2) to end.
        self.assertEqual(sim.simulate(trace, "greedy").start, {1: 0, 2: 100, 3: 105})

    def test_csv(self):
        trace = sim.load_swf(SLICE, limit=20)
        r = sim.simulate(trace, "easy")
        out = io.StringIO()
        sim.write_csv(out, trace, [r])
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 1 + len(trace.jobs))
        self.assertTrue(lines[0].startswith("policy,job,"))

    def test_main_falls_back_to_the_slice(self):
        import contextlib
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            sim.main(["/nonexistent.swf", "--policy", "fcfs", "--limit", "50"])
        self.assertIn("not found", err.getvalue())
        self.assertIn("kth_sp2_slice.swf", out.getvalue())


if __name__ == "__main__":
    unittest.main()
