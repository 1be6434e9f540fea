"""Queue and Fair: orders by hand, against sorted() references, fair-share
factors and dominant shares by hand, bad input."""

import math
import unittest
from fractions import Fraction

import _setup
import cloudsched as cs


def task(i, tenant=0, priority=0, estimate=0.0):
    return cs.Task(i, [1], tenant=tenant, priority=priority, runtime_estimate=estimate)


class QueueOrders(unittest.TestCase):
    def test_fcfs(self):
        with cs.Queue() as q:
            q.push(task(5), arrival=2)
            q.push(task(3), arrival=1)
            q.push(task(4), arrival=1)  # ties on arrival break by id
            self.assertEqual(len(q), 3)
            self.assertEqual(q.order(now=0), [3, 4, 5])
            self.assertEqual(q.order(now=0, limit=2), [3, 4])
            self.assertEqual(q.peek(now=0), 3)
            self.assertEqual(q.pop(now=0), 3)
            self.assertIn(4, q)
            self.assertNotIn(3, q)
            self.assertNotIn(-1, q)
            q.remove(4)
            self.assertEqual(q.pop(now=1), 5)
            with self.assertRaises(cs.NotFound):
                q.pop(now=1)
            with self.assertRaises(LookupError):  # NotFound is a LookupError
                q.peek(now=1)
            q.check()

    def test_sjf_and_set_estimate(self):
        with cs.Queue(cs.QueuePolicy.SJF, default_runtime=50) as q:
            q.push(task(1, estimate=100), 0)
            q.push(task(2, estimate=10), 1)
            q.push(task(3), 2)  # unknown estimate counts as 50
            self.assertEqual(q.order(0), [2, 3, 1])
            q.set_estimate(1, 5)
            self.assertEqual(q.order(0), [1, 2, 3])
            with self.assertRaises(cs.InvalidArgument):
                q.set_estimate(1, -1)
            with self.assertRaises(cs.NotFound):
                q.set_estimate(9, 1)

    def test_priority_with_aging(self):
        # Key = priority + 0.5 * (now - arrival): at now = 10, task 1 (p 0,
        # arrived 0) has 5, task 2 (p 4, arrived 8) has 5: equal keys tie by
        # arrival, so task 1; task 3 (p 3, arrived 2) has 7 and goes first.
        with cs.Queue("priority", aging_slope=0.5) as q:
            q.push(task(1, priority=0), 0)
            q.push(task(2, priority=4), 8)
            q.push(task(3, priority=3), 2)
            self.assertEqual(q.order(10), [3, 1, 2])
            q.set_priority(1, 10)
            self.assertEqual(q.order(10), [1, 3, 2])

    def test_hrrn_by_hand(self):
        # Ratio (now - arrival + s) / s. Task 1: a = 0, s = 10; task 2: a = 5,
        # s = 1. At now = 5: 1.5 against 1.0 -> task 1. At now = 6: 1.6 against
        # 2.0 -> task 2. They cross at 5 + 5/9.
        with cs.Queue(cs.QueuePolicy.HRRN) as q:
            q.push(task(1, estimate=10), 0)
            q.push(task(2, estimate=1), 5)
            self.assertEqual(q.peek(5), 1)
            self.assertEqual(q.peek(6), 2)
            with self.assertRaises(cs.InvalidArgument):  # time going back
                q.peek(5.5)
            self.assertEqual(q.peek(6), 2)

    def test_against_sorted_reference(self):
        rng = _setup.Rng(7)
        for policy in (cs.QueuePolicy.FCFS, cs.QueuePolicy.SJF, cs.QueuePolicy.PRIORITY,
                       cs.QueuePolicy.HRRN):
            with self.subTest(policy=policy.name), cs.Queue(policy, default_runtime=30,
                                                            aging_slope=0.25) as q:
                live = {}
                now = 0
                for it in range(600):
                    op = rng.below(4)
                    if op < 2:
                        tid = it
                        arrival = now - rng.below(20)
                        est = rng.below(4) * 10  # 0 = unknown -> 30
                        prio = rng.below(5)
                        q.push(task(tid, priority=prio, estimate=est), arrival)
                        live[tid] = (arrival, est or 30, prio)
                    elif op == 2 and live:
                        tid = sorted(live)[rng.below(len(live))]
                        q.remove(tid)
                        del live[tid]
                    else:
                        now += rng.below(3)

                        def key(tid):
                            a, s, pr = live[tid]
                            if policy == cs.QueuePolicy.FCFS:
                                return (a, tid)
                            if policy == cs.QueuePolicy.SJF:
                                return (s, a, tid)
                            if policy == cs.QueuePolicy.PRIORITY:
                                return (-(pr + Fraction(1, 4) * (now - a)), a, tid)
                            return (-Fraction(now - a + s, s), a, tid)
                        want = sorted(live, key=key)
                        self.assertEqual(q.order(now), want)
                        if live and rng.below(2):
                            self.assertEqual(q.pop(now), want[0])
                            del live[want[0]]
                self.assertEqual(len(q), len(live))
                q.check()

    def test_bad_input(self):
        with cs.Queue() as q:
            q.push(task(1), 0)
            with self.assertRaises(cs.AlreadyExists):
                q.push(task(1), 0)
            with self.assertRaises(cs.InvalidArgument):
                q.push(task(2), math.nan)
            with self.assertRaises(cs.InvalidArgument):
                q.push(cs.Task(3, [-1]), 0)
            with self.assertRaises(cs.InvalidArgument):
                q.push(cs.Task(3, [1], count=0), 0)
            with self.assertRaises(cs.NotFound):
                q.remove(2)
            self.assertEqual(q.order(0), [1])
        with self.assertRaises(cs.InvalidArgument):
            cs.Queue(cs.QueuePolicy.FAIRSHARE)  # needs a Fair handle
        with self.assertRaises(cs.InvalidArgument):
            cs.Queue("lifo")
        with self.assertRaises(cs.InvalidArgument):
            cs.Queue(default_runtime=0)


class FairShare(unittest.TestCase):
    def test_factor_and_decay_by_hand(self):
        with cs.Fair(half_life=100) as f:
            f.set_weight(1, 1)
            f.set_weight(2, 3)
            self.assertEqual(f.factor(1), 1.0)  # no usage yet
            f.charge(1, 10, now=0)
            f.charge(2, 30, now=0)
            # U_norm = S_norm for both (1/4, 3/4): F = 2^-1.
            self.assertAlmostEqual(f.factor(1), 0.5, places=14)
            self.assertAlmostEqual(f.factor(2), 0.5, places=14)
            # One half-life later: tenant 1's 10 decays to 5.
            self.assertAlmostEqual(f.usage(1, now=100), 5.0, places=12)
            f.charge(1, 5, now=100)
            # Usages 10 and 15: U_norm(1) = 0.4, S_norm(1) = 0.25 -> 2^-1.6.
            self.assertAlmostEqual(f.factor(1), 2 ** -1.6, places=12)
            self.assertAlmostEqual(f.factor(2), 2 ** -(0.6 / 0.75), places=12)
            with self.assertRaises(cs.InvalidArgument):
                f.charge(1, 1, now=50)  # time going back
            self.assertAlmostEqual(f.usage(1, now=100), 10.0, places=12)
            self.assertEqual(f.tenants(), [1, 2])
            self.assertEqual(len(f), 2)
            self.assertEqual(f.weight(2), 3.0)

    def test_dominant_share_by_hand(self):
        with cs.Fair(num_resources=2) as f:
            f.set_capacity([100, 10])
            f.allocate(7, [10, 5])  # shares 0.1 and 0.5 -> 0.5
            self.assertEqual(f.dominant_share(7), (0.5, 0.5))
            f.set_weight(7, 2)
            self.assertEqual(f.dominant_share(7), (0.5, 0.25))
            self.assertEqual(f.allocation(7), [10, 5])
            f.release(7, [10, 0])
            self.assertEqual(f.dominant_share(7)[0], 0.5)
            with self.assertRaises(cs.InvalidArgument):
                f.release(7, [1, 0])  # more than allocated
            with self.assertRaises(cs.DimensionMismatch):
                f.allocate(7, [1])
            with self.assertRaises(cs.Busy):
                f.remove_tenant(7)
            f.release(7, [0, 5])
            f.remove_tenant(7)
            with self.assertRaises(cs.NotFound):
                f.weight(7)

    def test_fairshare_queue_follows_charges(self):
        with cs.Fair() as f, cs.Queue(cs.QueuePolicy.FAIRSHARE, fair=f) as q:
            q.push(task(1, tenant=10), 0)
            q.push(task(2, tenant=20), 1)
            q.push(task(3, tenant=10), 2)
            # No usage: every factor is 1, tenants tie by id: 10 first.
            self.assertEqual(q.order(3), [1, 3, 2])
            f.charge(10, 100, now=3)
            self.assertEqual(q.order(3), [2, 1, 3])
            with self.assertRaises(cs.Busy):  # tenant 20 has a pending task
                f.remove_tenant(20)
            self.assertIs(q.fair, f)

    def test_drf_queue(self):
        with cs.Fair(num_resources=1) as f, cs.Queue("drf", fair=f) as q:
            f.set_capacity([10])
            q.push(task(1, tenant=1), 0)
            q.push(task(2, tenant=2), 0)
            f.allocate(1, [5])  # tenant 1 holds half: tenant 2 goes first
            self.assertEqual(q.order(0), [2, 1])
            f.set_weight(1, 10)  # weighted 0.05, still above tenant 2's 0
            self.assertEqual(q.order(0), [2, 1])
            f.allocate(2, [8])   # tenant 2: 0.8 > 0.05
            self.assertEqual(q.order(0), [1, 2])

    def test_bad_options(self):
        with self.assertRaises(cs.InvalidArgument):
            cs.Fair(half_life=-1)
        with self.assertRaises(cs.InvalidArgument):
            cs.Fair(default_weight=0)
        with self.assertRaises(cs.InvalidArgument):
            cs.Fair(num_resources=33)
        with cs.Fair() as f:
            with self.assertRaises(cs.InvalidArgument):
                f.set_weight(1, -1)
            with self.assertRaises(cs.InvalidArgument):
                f.set_weight(cs.ID_NONE, 1)
            with self.assertRaises(cs.InvalidArgument):
                f.charge(1, math.inf, 0)
            with self.assertRaises(cs.NotFound):
                f.factor(5)
            self.assertEqual(f.tenants(), [])


if __name__ == "__main__":
    unittest.main()
