"""Pool: every wrapped call, hand-computed cases, a reference model, bad input."""

import unittest

import _setup
import cloudsched as cs


def three_nodes():
    """The cluster of examples/pool_basics.c: two 8-GPU A100 nodes in rack 1,
    a CPU node in rack 2; a 4-GPU job on node 1 and a CPU job on node 3."""
    pool = cs.Pool(["cpu_milli", "mem_mib", "gpu"])
    a100 = {"gpu_model": "A100"}
    pool.add_node([64000, 262144, 8], 1, labels=a100, rack=1)
    pool.add_node([64000, 262144, 8], 2, labels=a100, rack=1)
    pool.add_node([32000, 131072, 0], 3, rack=2)
    train = pool.allocate(1, [16000, 65536, 4], owner=100)
    etl = pool.allocate(3, [8000, 16384, 0], owner=101)
    return pool, train, etl


def snapshot(pool):
    """Observable state, for checking that failed calls change nothing."""
    return (pool.nodes(), [pool.node_info(n) for n in pool.nodes()], pool.totals(),
            pool.num_allocations)


class PoolBasics(unittest.TestCase):
    def setUp(self):
        self.pool, self.train, self.etl = three_nodes()

    def tearDown(self):
        self.pool.close()

    def test_resources(self):
        p = self.pool
        self.assertEqual(p.num_resources, 3)
        self.assertEqual(p.resource_names, ["cpu_milli", "mem_mib", "gpu"])
        self.assertEqual(p.resource_index("gpu"), 2)
        with self.assertRaises(cs.NotFound):
            p.resource_index("fpga")
        with cs.Pool(2) as q:
            self.assertEqual(q.resource_names, ["r0", "r1"])

    def test_fit_orders(self):
        # A 1-GPU A100 task: node 1 has 4 GPUs free, node 2 has 8.
        # First fit: node 1 (lowest id that fits). Best fit (least free by
        # sum_k free_k / maxcap_k): node 1 has 48/64 + 196608/262144 + 4/8 =
        # 2.0 against 3.0 for node 2. Worst fit: node 2.
        demand = [4000, 8192, 1]
        labels = {"gpu_model": "A100"}
        self.assertEqual(self.pool.fit(demand, cs.Fit.FIRST, labels=labels), 1)
        self.assertEqual(self.pool.fit(demand, cs.Fit.BEST, labels=labels), 1)
        self.assertEqual(self.pool.fit(demand, cs.Fit.WORST, labels=labels), 2)
        self.assertEqual(self.pool.fit(demand, "worst", labels=labels), 2)
        # Without the label node 3 (no GPU) cannot take it either; a CPU task can.
        self.assertEqual(self.pool.fit([1000, 1, 0], cs.Fit.WORST, labels={"gpu_model": None}), 2)
        self.assertEqual(self.pool.fit(demand, cs.Fit.FIRST, exclude=[1]), 2)
        with self.assertRaises(cs.OutOfCapacity):
            self.pool.fit(demand, exclude=[1, 2])
        with self.assertRaises(cs.OutOfCapacity):
            self.pool.fit([0, 0, 9])
        with self.assertRaises(cs.OutOfCapacity):
            self.pool.fit(demand, partition=5)

    def test_utilization_totals(self):
        # cpu (16000 + 8000) / 160000 = 0.15; mem 81920 / 655360 = 0.125;
        # gpu 4 / 16 = 0.25.
        self.assertEqual(self.pool.utilization(), [0.15, 0.125, 0.25])
        t = self.pool.totals()
        self.assertEqual(t.capacity, [160000, 655360, 16])
        self.assertEqual(t.used, [24000, 81920, 4])
        self.assertEqual(t.free, [136000, 573440, 12])
        self.assertEqual(self.pool.totals(partition=0), t)
        self.assertEqual(self.pool.totals(partition=9).capacity, [0, 0, 0])

    def test_node_info_and_labels(self):
        info = self.pool.node_info(1)
        self.assertEqual((info.id, info.state, info.zone, info.rack, info.partition),
                         (1, cs.NodeState.UP, 0, 1, 0))
        self.assertEqual(info.labels, {"gpu_model": "A100"})
        self.assertEqual(info.num_allocations, 1)
        self.assertEqual(info.capacity, [64000, 262144, 8])
        self.assertEqual(info.used, [16000, 65536, 4])
        self.assertEqual(info.free, [48000, 196608, 4])
        self.assertEqual(self.pool.node_label(2, "gpu_model"), "A100")
        with self.assertRaises(cs.NotFound):
            self.pool.node_label(3, "gpu_model")
        with self.assertRaises(cs.NotFound):
            self.pool.node_info(99)

    def test_allocations(self):
        p = self.pool
        a = p.allocation(self.train)
        self.assertEqual((a.id, a.node, a.owner, a.demand),
                         (self.train, 1, 100, [16000, 65536, 4]))
        second = p.allocate(1, [1000, 1000, 1], owner=7)
        self.assertEqual([x.id for x in p.node_allocations(1)], sorted([self.train, second]))
        self.assertEqual(p.num_allocations, 3)
        p.resize(second, [2000, 1000, 4])  # 4 + 4 = 8 GPUs: exactly full
        self.assertEqual(p.node_info(1).free[2], 0)
        with self.assertRaises(cs.OutOfCapacity):
            p.resize(second, [2000, 1000, 5])
        p.resize(second, [0, 0, 0])
        p.release(second)
        with self.assertRaises(cs.NotFound):
            p.release(second)
        with self.assertRaises(cs.OutOfCapacity):
            p.allocate(3, [0, 0, 1])
        with self.assertRaises(cs.NotFound):
            p.allocate(42, [0, 0, 1])
        p.check()

    def test_remove_node(self):
        p = self.pool
        before = snapshot(p)
        with self.assertRaises(cs.Busy):
            p.remove_node(1)
        self.assertEqual(snapshot(p), before)
        released = p.remove_node(1, force=True)
        self.assertEqual([(a.id, a.node, a.owner) for a in released], [(self.train, 1, 100)])
        self.assertEqual(p.nodes(), [2, 3])
        p.release(self.etl)
        self.assertEqual(p.remove_node(3), [])
        self.assertEqual(len(p), 1)
        with self.assertRaises(cs.NotFound):
            p.remove_node(3)

    def test_states(self):
        p = self.pool
        p.set_node_state(2, cs.NodeState.DRAINING)
        with self.assertRaises(cs.InvalidState):
            p.allocate(2, [1, 1, 1])
        self.assertEqual(p.fit([1, 1, 1], cs.Fit.WORST), 1)  # 2 is not up
        # Capacity totals count up nodes only; used counts every node.
        p.set_node_state(1, cs.NodeState.DOWN)
        t = p.totals()
        self.assertEqual(t.capacity, [32000, 131072, 0])
        self.assertEqual(t.used, [24000, 81920, 4])
        p.set_node_state(1, "up")
        p.set_node_state(2, cs.NodeState.UP)
        self.assertEqual(p.node_info(2).state, cs.NodeState.UP)
        with self.assertRaises(cs.InvalidArgument):
            p.set_node_state(2, 7)

    def test_capacity_change(self):
        p = self.pool
        p.set_node_capacity(1, [64000, 262144, 6])
        self.assertEqual(p.node_info(1).free, [48000, 196608, 2])
        with self.assertRaises(cs.OutOfCapacity):
            p.set_node_capacity(1, [64000, 262144, 3])  # 4 GPUs in use
        self.assertEqual(p.node_info(1).capacity[2], 6)

    def test_cost(self):
        with cs.Pool(2) as p:
            p.add_node([10, 100], 1, unit_cost=[0.5, 0.01])
            p.add_node([10, 100], 2, unit_cost=[1.0, 0.0], partition=1)
            p.allocate(1, [4, 50])
            p.allocate(2, [3, 100])
            # node 1: 0.5 * 4 + 0.01 * 50 = 2.5; node 2: 1.0 * 3 = 3.0
            self.assertAlmostEqual(p.cost(), 5.5, places=12)
            self.assertAlmostEqual(p.cost(partition=0), 2.5, places=12)
            self.assertAlmostEqual(p.cost(partition=1), 3.0, places=12)

    def test_auto_ids_and_topology(self):
        with cs.Pool(1) as p:
            a = p.add_node([1])
            b = p.add_node([1], 10, zone=3, rack=4, partition=2,
                           state=cs.NodeState.DRAINING)
            c = p.add_node([1])
            self.assertEqual((a, b, c), (0, 10, 11))  # one more than the largest id
            info = p.node_info(10)
            self.assertEqual((info.zone, info.rack, info.partition, info.state),
                             (3, 4, 2, cs.NodeState.DRAINING))
            with self.assertRaises(cs.OutOfCapacity):  # node 10 drains
                p.fit([1], partition=2)
            p.set_node_state(10, cs.NodeState.UP)
            self.assertEqual(p.fit([1], partition=2), 10)
            self.assertEqual(p.fit([1], partition=0), 0)

    def test_fit_weights(self):
        # After the allocations node 1 has free (10, 0) and node 2 (0, 10);
        # a demand (0, 0) fits both. S = w . free: with weights (1, 0)
        # S(1) = 10, S(2) = 0, so best fit is node 2 and worst fit node 1;
        # with weights (0, 1) S(1) = 0, S(2) = 10 and the answers swap.
        for weights, best, worst in (([1, 0], 2, 1), ([0, 1], 1, 2)):
            with cs.Pool(2, fit_weights=weights) as p:
                p.add_node([10, 10], 1)
                p.add_node([10, 10], 2)
                p.allocate(1, [0, 10])
                p.allocate(2, [10, 0])
                self.assertEqual(p.fit([0, 0], cs.Fit.BEST), best)
                self.assertEqual(p.fit([0, 0], cs.Fit.WORST), worst)


class PoolBadInput(unittest.TestCase):
    def test_create(self):
        with self.assertRaises(cs.InvalidArgument):
            cs.Pool(0)
        with self.assertRaises(cs.InvalidArgument):
            cs.Pool(33)
        with self.assertRaises(cs.InvalidArgument):
            cs.Pool(["a", "a"])
        with self.assertRaises(cs.InvalidArgument):
            cs.Pool(["a", ""])
        with self.assertRaises(cs.InvalidArgument):
            cs.Pool(2, fit_weights=[float("nan"), 1])
        with self.assertRaises(cs.DimensionMismatch):
            cs.Pool(2, fit_weights=[1])

    def test_nodes_and_allocations(self):
        pool, train, _ = three_nodes()
        with pool:
            before = snapshot(pool)
            bad = [
                (cs.DimensionMismatch, lambda: pool.add_node([1, 2])),
                (cs.InvalidArgument, lambda: pool.add_node([1, -2, 0])),
                (cs.Overflow, lambda: pool.add_node([2**63, 0, 0])),
                (cs.AlreadyExists, lambda: pool.add_node([1, 1, 1], 2)),
                (cs.InvalidArgument, lambda: pool.add_node([1, 1, 1], -5)),
                (cs.InvalidArgument, lambda: pool.add_node([1, 1, 1], cs.ID_NONE)),
                (cs.InvalidArgument, lambda: pool.add_node([1, 1, 1], labels={"": "x"})),
                (cs.InvalidArgument, lambda: pool.add_node([1, 1, 1],
                                                           partition=cs.PARTITION_ANY)),
                (cs.InvalidArgument, lambda: pool.add_node([1, 1, 1], unit_cost=[1, -1, 0])),
                (cs.InvalidArgument, lambda: pool.add_node([1, 1, 1], state=5)),
                (cs.InvalidArgument, lambda: pool.add_node(["x", 1, 1])),
                (cs.InvalidArgument, lambda: pool.allocate(1, [-1, 0, 0])),
                (cs.DimensionMismatch, lambda: pool.allocate(1, [1])),
                (cs.InvalidArgument, lambda: pool.fit([1, 1, 1], 9)),
                (cs.InvalidArgument, lambda: pool.fit([-1, 1, 1])),
                (cs.DimensionMismatch, lambda: pool.set_node_capacity(1, [1])),
                (cs.InvalidArgument, lambda: pool.set_node_capacity(1, [1, 1, -1])),
                (cs.NotFound, lambda: pool.set_node_capacity(9, [1, 1, 1])),
                (cs.NotFound, lambda: pool.set_node_state(9, cs.NodeState.UP)),
                (cs.NotFound, lambda: pool.resize(999, [1, 1, 1])),
                (cs.NotFound, lambda: pool.allocation(999)),
                (cs.NotFound, lambda: pool.node_allocations(999)),
                (cs.InvalidArgument, lambda: pool.node_label(1, "a\0b")),
            ]
            for cls, call in bad:
                with self.subTest(cls=cls.__name__):
                    with self.assertRaises(cls):
                        call()
                    self.assertEqual(snapshot(pool), before)
            pool.check()


class PoolModel(unittest.TestCase):
    """Random operations against a reference model of the free vectors; fit
    answers against brute-force scans of that model."""

    def test_random_operations(self):
        rng = _setup.Rng(2024)
        p, n_nodes = 3, 40
        with cs.Pool(p, fit_weights=[1, 1, 1]) as pool:
            cap, free, state = {}, {}, {}
            for node in range(n_nodes):
                c = [rng.below(20) + 1 for _ in range(p)]
                nid = pool.add_node(c, node * 3 + 1)
                cap[nid], free[nid], state[nid] = c, list(c), cs.NodeState.UP
            allocs = {}
            for it in range(1500):
                op = rng.below(10)
                if op < 5:
                    d = [rng.below(8) for _ in range(p)]
                    ups = [n for n in sorted(free) if state[n] == cs.NodeState.UP
                           and all(f >= x for f, x in zip(free[n], d))]
                    # Brute force: first = lowest id; best/worst by the exact
                    # integer norm sum_k free_k (weights 1), ties by id.
                    if not ups:
                        with self.assertRaises(cs.OutOfCapacity):
                            pool.fit(d, cs.Fit.FIRST)
                        continue
                    self.assertEqual(pool.fit(d, cs.Fit.FIRST), ups[0])
                    self.assertEqual(pool.fit(d, cs.Fit.BEST),
                                     min(ups, key=lambda n: (sum(free[n]), n)))
                    self.assertEqual(pool.fit(d, cs.Fit.WORST),
                                     min(ups, key=lambda n: (-sum(free[n]), n)))
                    target = ups[rng.below(len(ups))]
                    a = pool.allocate(target, d, owner=it)
                    allocs[a] = (target, d)
                    free[target] = [f - x for f, x in zip(free[target], d)]
                elif op < 8 and allocs:
                    a = sorted(allocs)[rng.below(len(allocs))]
                    node, d = allocs.pop(a)
                    pool.release(a)
                    free[node] = [f + x for f, x in zip(free[node], d)]
                else:
                    node = sorted(free)[rng.below(len(free))]
                    s = [cs.NodeState.UP, cs.NodeState.DRAINING, cs.NodeState.DOWN][rng.below(3)]
                    pool.set_node_state(node, s)
                    state[node] = s
            for n in free:
                info = pool.node_info(n)
                self.assertEqual(info.free, free[n])
                self.assertEqual(info.used, [c - f for c, f in zip(cap[n], free[n])])
            self.assertEqual(pool.num_allocations, len(allocs))
            pool.check()


if __name__ == "__main__":
    unittest.main()
