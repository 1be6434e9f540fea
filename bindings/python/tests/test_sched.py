"""Scheduler: the loop, head-of-line rules, gangs, elastic tasks, preemption,
node failures, predictions, accounting by hand, bad input."""

import math
import unittest

import _setup
import cloudsched as cs

START, PREEMPT = cs.DecisionKind.START, cs.DecisionKind.PREEMPT


def one_node(cpus=10, **options):
    pool = cs.Pool(["cpu"])
    pool.add_node([cpus], 1)
    return pool, cs.Scheduler(pool, **options)


def starts(decisions):
    return [d.task for d in decisions if d.kind == START]


class Loop(unittest.TestCase):
    def test_submit_step_complete(self):
        pool, s = one_node()
        with pool, s:
            s.submit(cs.Task(1, [4], runtime_estimate=100), now=0)
            s.submit(cs.Task(2, [4], runtime_estimate=100), now=0)
            s.submit(cs.Task(3, [4], runtime_estimate=100), now=1)
            d = s.step(1)
            self.assertEqual(starts(d), [1, 2])
            self.assertEqual(d[0].reason, cs.DecisionReason.IN_ORDER)
            self.assertEqual((d[0].node, d[0].replicas, d[0].related), (1, 1, None))
            self.assertEqual(pool.allocation(d[0].alloc_id).owner, 1)
            self.assertEqual(s.counts(), cs.Counts(3, 1, 2, 0, 0, 0))
            info = s.task_info(1)
            self.assertEqual((info.state, info.submit_time, info.start_time),
                             (cs.TaskState.RUNNING, 0.0, 1.0))
            self.assertTrue(math.isnan(info.end_time))
            self.assertEqual(s.task_placement(1), [(1, d[0].alloc_id)])
            s.complete(1, now=50)
            self.assertEqual(starts(s.step(50)), [3])
            self.assertEqual(s.task_info(1).state, cs.TaskState.DONE)
            self.assertEqual(s.task_info(1).end_time, 50.0)
            s.check()

    def test_decisions_beyond_one_buffer(self):
        # 150 one-cpu tasks on a 200-cpu node all start in one step, although
        # the wrapper's C buffer holds 64 decisions: it steps again at the
        # same time until a step returns a partly filled buffer.
        pool, s = one_node(200)
        with pool, s:
            for i in range(150):
                s.submit(cs.Task(i, [1]), 0)
            d = s.step(0)
            self.assertEqual(starts(d), list(range(150)))
            self.assertEqual(len({x.alloc_id for x in d}), 150)
            self.assertEqual(pool.totals().used, [150])

    def test_max_decisions(self):
        pool, s = one_node(10)
        with pool, s:
            for i in range(5):
                s.submit(cs.Task(i, [1]), 0)
            self.assertEqual(starts(s.step(0, max_decisions=2)), [0, 1])
            self.assertEqual(starts(s.step(0)), [2, 3, 4])
            with self.assertRaises(cs.InvalidArgument):
                s.step(0, max_decisions=0)

    def test_pending_order_sjf(self):
        pool, s = one_node(1, policy=cs.QueuePolicy.SJF, head_of_line="strict")
        with pool, s:
            s.submit(cs.Task(1, [2], runtime_estimate=5), 0)  # never fits
            s.submit(cs.Task(2, [1], runtime_estimate=50), 0)
            s.submit(cs.Task(3, [1], runtime_estimate=20), 0)
            self.assertEqual(s.pending_order(0), [1, 3, 2])
            self.assertEqual(s.pending_order(0, limit=1), [1])
            self.assertEqual(s.step(0), [])  # strict: task 1 blocks everything

    def test_cancel_fail_forget(self):
        pool, s = one_node()
        with pool, s:
            for i in (1, 2, 3):
                s.submit(cs.Task(i, [3]), 0)
            s.step(0)
            s.cancel(1, 1)
            s.fail(2, 2)
            self.assertEqual(s.task_info(1).state, cs.TaskState.CANCELLED)
            self.assertEqual(s.task_info(2).state, cs.TaskState.FAILED)
            with self.assertRaises(cs.InvalidState):
                s.cancel(1, 3)
            with self.assertRaises(cs.InvalidState):
                s.forget(3)  # still running
            with self.assertRaises(cs.AlreadyExists):
                s.submit(cs.Task(1, [1]), 3)
            s.forget(1)
            with self.assertRaises(cs.NotFound):
                s.task_info(1)
            s.submit(cs.Task(1, [1]), 3)  # the id is free again
            self.assertEqual(s.counts().submitted, 4)
            self.assertEqual(pool.totals().used, [3])  # task 3 runs; the new task 1 waits
            s.check()


class HeadOfLine(unittest.TestCase):
    # One 10-cpu node; task 1 (6 cpus, estimate 100) runs from t = 0. Task 2
    # needs all 10: blocked until 100, where it gets a reservation (EASY).
    # Task 3 (2 cpus, estimate 200) would still run at 100 and take 2 of the
    # 0 cpus left beside task 2: it must wait. Task 4 (2 cpus, estimate 50)
    # ends at 50 <= 100: it is backfilled.
    def scenario(self, **options):
        pool, s = one_node(10, **options)
        s.submit(cs.Task(1, [6], runtime_estimate=100), 0)
        self.assertEqual(starts(s.step(0)), [1])
        s.submit(cs.Task(2, [10], runtime_estimate=100), 1)
        s.submit(cs.Task(3, [2], runtime_estimate=200), 2)
        s.submit(cs.Task(4, [2], runtime_estimate=50), 3)
        return pool, s, s.step(3)

    def test_easy_backfilling(self):
        pool, s, d = self.scenario(head_of_line=cs.HeadOfLine.BACKFILL, backfill_depth=1)
        with pool, s:
            self.assertEqual(starts(d), [4])
            self.assertEqual(d[0].reason, cs.DecisionReason.BACKFILL)
            s.complete(4, 53)
            s.complete(1, 100)
            self.assertEqual(starts(s.step(100)), [2])  # the reservation holds

    def test_strict(self):
        pool, s, d = self.scenario(head_of_line="strict")
        with pool, s:
            self.assertEqual(d, [])

    def test_skip(self):
        pool, s, d = self.scenario(head_of_line="skip")
        with pool, s:
            self.assertEqual(starts(d), [3, 4])
            self.assertEqual({x.reason for x in d}, {cs.DecisionReason.SKIP_AHEAD})


class Gangs(unittest.TestCase):
    def two_nodes(self, **options):
        pool = cs.Pool(["cpu"])
        pool.add_node([4], 1)
        pool.add_node([4], 2)
        return pool, cs.Scheduler(pool, **options)

    def test_gang_all_or_nothing(self):
        pool, s = self.two_nodes(head_of_line="skip")
        with pool, s:
            s.submit(cs.Task(1, [3], count=3), 0)  # 9 cpus > 8: never now
            s.submit(cs.Task(2, [2], count=3), 0)  # 2 + 2 on node 1, 2 on node 2
            d = s.step(0)
            self.assertEqual(starts(d), [2])
            self.assertEqual(d[0].replicas, 3)
            nodes = sorted(n for n, _ in s.task_placement(2))
            self.assertEqual(nodes, [1, 1, 2])  # first fit fills node 1 first
            self.assertEqual(s.task_info(1).state, cs.TaskState.PENDING)

    def test_spread(self):
        pool, s = self.two_nodes()
        with pool, s:
            s.submit(cs.Task(1, [1], count=3, topology=cs.Topology.SPREAD), 0)
            self.assertEqual(s.step(0), [])  # 3 replicas, 2 nodes
            s.submit(cs.Task(2, [1], count=2, topology="spread"), 0)
            s.cancel(1, 0)
            d = s.step(0)
            self.assertEqual(sorted(n for n, _ in s.task_placement(2)), [1, 2])
            self.assertEqual(starts(d), [2])

    def test_elastic(self):
        pool, s = self.two_nodes()
        with pool, s:
            # 4 replicas of 3 cpus: only one per node fits; elastic_min 2.
            s.submit(cs.Task(1, [3], count=4, elastic_min=2), 0)
            d = s.step(0)
            self.assertEqual((d[0].task, d[0].replicas), (1, 2))
            self.assertEqual(s.task_info(1).replicas, 2)

    def test_labels_and_partitions(self):
        pool = cs.Pool(["cpu"])
        pool.add_node([4], 1, labels={"ssd": "yes"})
        pool.add_node([4], 2, partition=1)
        with pool, cs.Scheduler(pool, head_of_line="skip") as s:
            s.submit(cs.Task(1, [1], labels={"ssd": None}), 0)
            s.submit(cs.Task(2, [1], partition=1), 0)
            s.submit(cs.Task(3, [1], labels={"ssd": "no"}), 0)
            d = {x.task: x.node for x in s.step(0)}
            self.assertEqual(d, {1: 1, 2: 2})


class Placement(unittest.TestCase):
    def test_least_and_most_allocated(self):
        # Node 1 (10 cpus) has 5 used, node 2 (10 cpus) 2 used. A 1-cpu task:
        # LeastAllocated scores 100 (1 - f): node 1 f = 0.6 -> 40, node 2
        # f = 0.3 -> 70: node 2. MostAllocated picks node 1 (60 > 30).
        for placement, want in ((cs.Placement.LEAST_ALLOCATED, 2),
                                (cs.Placement.MOST_ALLOCATED, 1),
                                (cs.Placement.WORST_FIT, 2),
                                (cs.Placement.BEST_FIT, 1)):
            with self.subTest(placement=placement.name):
                pool = cs.Pool(["cpu"])
                pool.add_node([10], 1)
                pool.add_node([10], 2)
                pool.allocate(1, [5])
                pool.allocate(2, [2])
                with pool, cs.Scheduler(pool, placement=placement) as s:
                    s.submit(cs.Task(9, [1]), 0)
                    self.assertEqual(s.step(0)[0].node, want)

    def test_locality(self):
        pool = cs.Pool(["cpu"])
        for n in (1, 2, 3):
            pool.add_node([10], n, zone=n)
        with pool, cs.Scheduler(pool, placement="locality") as s:
            s.submit(cs.Task(1, [1], preferred_nodes=[3]), 0)
            s.submit(cs.Task(2, [1], preferred_zones=[2]), 0)
            self.assertEqual({d.task: d.node for d in s.step(0)}, {1: 3, 2: 2})


class Preemption(unittest.TestCase):
    def test_priority_preemption(self):
        pool, s = one_node(10, preemption=True, policy="priority")
        with pool, s:
            s.submit(cs.Task(1, [8], priority=1), 0)
            s.step(0)
            s.submit(cs.Task(2, [5], priority=5), 10)
            d = s.step(10)
            self.assertEqual([(x.kind, x.task) for x in d], [(PREEMPT, 1), (START, 2)])
            self.assertEqual(d[0].related, 2)
            self.assertEqual(d[0].reason, cs.DecisionReason.PREEMPTED)
            self.assertEqual(d[1].reason, cs.DecisionReason.AFTER_PREEMPTION)
            info = s.task_info(1)
            self.assertEqual((info.state, info.preemptions), (cs.TaskState.PENDING, 1))
            s.check()


class Failures(unittest.TestCase):
    def test_node_down_requeues(self):
        pool = cs.Pool(["cpu"])
        pool.add_node([4], 1)
        pool.add_node([4], 2)
        with pool, cs.Scheduler(pool) as s:
            for i in range(4):
                s.submit(cs.Task(i, [2]), 0)
            s.step(0)  # first fit: 0, 1 on node 1; 2, 3 on node 2
            self.assertEqual(s.node_down(1, 5), [0, 1])
            self.assertEqual(pool.node_info(1).state, cs.NodeState.DOWN)
            self.assertEqual(s.task_info(0).state, cs.TaskState.PENDING)
            self.assertEqual(s.task_info(0).preemptions, 1)
            self.assertEqual(s.step(5), [])
            s.node_up(1, 6)
            self.assertEqual(starts(s.step(6)), [0, 1])
            s.drain_node(2, 7)
            s.complete(2, 8)
            s.submit(cs.Task(9, [2]), 8)
            self.assertEqual(s.step(8), [])  # node 1 full, node 2 draining
            self.assertEqual(s.node_down(2, 9), [3])
            with self.assertRaises(cs.NotFound):
                s.node_down(7, 9)
            s.check()

    def test_fail_on_node_down(self):
        pool, s = one_node(4, fail_on_node_down=True)
        with pool, s:
            s.submit(cs.Task(1, [1]), 0)
            s.step(0)
            self.assertEqual(s.node_down(1, 1), [1])
            self.assertEqual(s.task_info(1).state, cs.TaskState.FAILED)


class Accounting(unittest.TestCase):
    def test_tenant_usage_by_hand(self):
        # Usage charged at the end of a run: seconds x sum_k (replicas x
        # demand_k / capacity_k) / p over the up capacity. Capacity (96000,
        # 393216, 8); two replicas of (1000, 1000, 1) for 5 s:
        # 5 x (2000/96000 + 2000/393216 + 2/8) / 3.
        pool = cs.Pool(["cpu", "mem", "gpu"])
        pool.add_node([64000, 262144, 8], 1)
        pool.add_node([32000, 131072, 0], 2)
        with pool, cs.Scheduler(pool, fair_half_life=0) as s:
            s.submit(cs.Task(1, [1000, 1000, 1], count=2, tenant=4), 0)
            s.step(0)
            # While running: the dominant share is gpu 2/8.
            self.assertEqual(s.tenant_usage(4, 0), (0.0, 0.25))
            s.complete(1, 5)
            want = 5 * (2000 / 96000 + 2000 / 393216 + 2 / 8) / 3
            usage, share = s.tenant_usage(4, 5)
            self.assertAlmostEqual(usage, want, places=12)
            self.assertEqual(share, 0.0)
            s.set_tenant_weight(4, 2.0)
            with self.assertRaises(cs.NotFound):
                s.tenant_usage(5, 5)
            with self.assertRaises(cs.InvalidArgument):
                s.set_tenant_weight(4, 0)


class Predictions(unittest.TestCase):
    def test_history_rule_feeds_the_estimate(self):
        # Model dimension 1 (no features, no estimate feature): it is ready
        # after 2 (1 + 1) = 4 samples; before that the history rule applies:
        # the mean of the tenant's last two runtimes, (10 + 20) / 2 = 15.
        with cs.Predictor(estimate_feature=False) as pred:
            pool, s = one_node(10, predictor=pred, use_predictions=True,
                               policy="sjf")
            with pool, s:
                for i, run in ((1, 10), (2, 20)):
                    s.submit(cs.Task(i, [10], tenant=7, runtime_estimate=100), 0)
                s.step(0)
                s.complete(1, 10)
                s.step(10)
                s.complete(2, 30)
                self.assertEqual(pred.model_info(7).history_count, 2)
                s.submit(cs.Task(3, [10], tenant=7, runtime_estimate=100), 30)
                info = s.task_info(3)
                self.assertEqual(info.estimate, 15.0)
                self.assertEqual(info.user_estimate, 100.0)
                self.assertEqual(info.estimate_source, cs.PredictSource.HISTORY)
                self.assertIs(s.predictor, pred)

    def test_feature_count_mismatch(self):
        with cs.Predictor(num_features=2) as pred:
            # Checked at submission when predictions are in use.
            pool, s = one_node(10, predictor=pred, use_predictions=True)
            with pool, s:
                with self.assertRaises(cs.DimensionMismatch):
                    s.submit(cs.Task(1, [1], features=[1.0]), 0)
                s.submit(cs.Task(1, [1], features=[1.0, 2.0]), 0)


class BadInput(unittest.TestCase):
    def test_options(self):
        with cs.Pool(2) as pool:
            for kw in (dict(policy=9), dict(placement="nowhere"), dict(head_of_line=4),
                       dict(default_runtime=-1), dict(fair_half_life=-1),
                       dict(resource_weights=[-1, 1]), dict(resource_weights=[0, 0])):
                with self.subTest(**{k: str(v) for k, v in kw.items()}):
                    with self.assertRaises(cs.InvalidArgument):
                        cs.Scheduler(pool, **kw)
            with self.assertRaises(cs.DimensionMismatch):
                cs.Scheduler(pool, resource_weights=[1])

    def test_calls(self):
        pool, s = one_node(10)
        with pool, s:
            s.submit(cs.Task(1, [1]), 5)
            before = (s.counts(), s.pending_order(5))
            bad = [
                (cs.InvalidArgument, lambda: s.submit(cs.Task(2, [1]), 4)),  # time back
                (cs.InvalidArgument, lambda: s.step(4)),
                (cs.InvalidArgument, lambda: s.submit(cs.Task(2, [1]), math.nan)),
                (cs.DimensionMismatch, lambda: s.submit(cs.Task(2, [1, 1]), 5)),
                (cs.InvalidArgument, lambda: s.submit(cs.Task(2, [1], runtime_estimate=-1), 5)),
                (cs.InvalidArgument, lambda: s.submit(cs.Task(2, [1], elastic_min=3, count=2), 5)),
                (cs.InvalidArgument, lambda: s.submit(cs.Task(2, [1], topology=7), 5)),
                (cs.InvalidArgument, lambda: s.submit(cs.Task(-2, [1]), 5)),
                (cs.InvalidArgument, lambda: s.submit(cs.Task(2, [1], features=[math.inf]), 5)),
                (cs.Overflow, lambda: s.submit(cs.Task(2, [2**62], count=4), 5)),
                (cs.AlreadyExists, lambda: s.submit(cs.Task(1, [1]), 5)),
                (cs.NotFound, lambda: s.complete(9, 5)),
                (cs.InvalidState, lambda: s.complete(1, 5)),  # pending, not running
                (cs.NotFound, lambda: s.cancel(9, 5)),
                (cs.NotFound, lambda: s.drain_node(9, 5)),
                (cs.NotFound, lambda: s.node_up(9, 5)),
                (cs.InvalidState, lambda: s.task_placement(1)),
                (cs.NotFound, lambda: s.forget(9)),
            ]
            for cls, call in bad:
                with self.subTest(cls=cls.__name__):
                    with self.assertRaises(cls):
                        call()
                    self.assertEqual((s.counts(), s.pending_order(5)), before)
            s.check()

    def test_task_validate(self):
        cs.Task(1, [1, 2]).validate(2)
        with self.assertRaises(cs.DimensionMismatch):
            cs.Task(1, [1, 2]).validate(3)
        with self.assertRaises(cs.InvalidArgument):
            cs.Task(1, [1], labels={"": None}).validate()
        with self.assertRaises(cs.InvalidArgument):
            cs.Task(cs.ID_NONE, [1]).validate()


if __name__ == "__main__":
    unittest.main()
