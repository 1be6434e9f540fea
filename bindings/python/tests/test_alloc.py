"""Allocation failure through the bindings: for each call that allocates,
fail the k-th allocation for k = 1, 2, ... until the call succeeds; after
each failure the call raised OutOfMemory (a MemoryError) and the observable
state is what it was (the library's strong guarantee, seen from Python)."""

import unittest

import _setup
import cloudsched as cs


class OutOfMemoryLoops(unittest.TestCase):
    def create_loop(self, factory):
        """Creation: every failure leaves nothing allocated."""
        k = 1
        while True:
            a = cs.CountingAllocator(fail_at=k)
            try:
                h = factory(a)
            except cs.OutOfMemory as e:
                self.assertIsInstance(e, MemoryError)
                self.assertEqual(a.in_use, 0)
                k += 1
                continue
            h.close()
            self.assertEqual(a.in_use, 0)
            return k - 1

    def call_loop(self, setup, call, observe):
        """One call on live handles: fail each of its allocations in turn.
        Returns how many allocations the call makes (failures seen)."""
        k = 1
        while True:
            a = cs.CountingAllocator()
            handles = setup(a)
            try:
                before = observe(handles)
                a.fail_at = a.requests + k
                try:
                    call(handles)
                except cs.OutOfMemory:
                    a.fail_at = None
                    self.assertEqual(observe(handles), before)
                    k += 1
                    continue
                return k - 1
            finally:
                for h in reversed(handles):
                    h.close()
                self.assertEqual(a.in_use, 0)

    def test_creation(self):
        for name, factory in [
            ("pool", lambda a: cs.Pool(["cpu", "mem"], allocator=a)),
            ("fair", lambda a: cs.Fair(num_resources=2, allocator=a)),
            ("queue", lambda a: cs.Queue("hrrn", allocator=a)),
            ("predictor", lambda a: cs.Predictor(num_features=2, allocator=a)),
            ("rls", lambda a: cs.RLS(4, allocator=a)),
            ("lsq", lambda a: cs.LeastSquares(10, 3, allocator=a)),
            ("qp", lambda a: cs.QPWorkspace(6, 1, 3, allocator=a)),
        ]:
            with self.subTest(name):
                self.assertGreater(self.create_loop(factory), 0)

    def test_scheduler_creation(self):
        with cs.Pool(["cpu"]) as pool:
            self.assertGreater(self.create_loop(lambda a: cs.Scheduler(pool, allocator=a)), 0)

    def test_pool_calls(self):
        def setup(a):
            pool = cs.Pool(["cpu"], allocator=a)
            for n in range(3):
                pool.add_node([8], n, labels={"rack": str(n)})
            return [pool]

        def observe(handles):
            pool = handles[0]
            return (pool.nodes(), [pool.node_info(n) for n in pool.nodes()],
                    pool.num_allocations)

        self.assertGreater(self.call_loop(
            setup, lambda h: h[0].add_node([4], 9, labels={"gpu": "a100", "ssd": "x"}),
            observe), 0)
        self.assertGreater(self.call_loop(setup, lambda h: h[0].allocate(1, [1]), observe), 0)

    def test_scheduler_calls(self):
        def setup(a):
            pool = cs.Pool(["cpu"], allocator=a)
            pool.add_node([4], 1)
            pool.add_node([4], 2)
            sched = cs.Scheduler(pool, allocator=a)
            for i in range(6):
                sched.submit(cs.Task(i, [1], runtime_estimate=10 + i, tenant=i % 2), 0)
            return [pool, sched]

        def running(a):
            pool, sched = setup(a)
            sched.step(1)
            return [pool, sched]

        def observe(handles):
            pool, sched = handles
            return (sched.counts(), sched.pending_order(1),
                    [pool.node_info(n) for n in pool.nodes()])

        self.assertGreater(self.call_loop(
            setup, lambda h: h[1].submit(cs.Task(99, [2], count=2), 1), observe), 0)
        self.assertGreater(self.call_loop(setup, lambda h: h[1].step(1), observe), 0)
        self.call_loop(running, lambda h: h[1].node_down(1, 2), observe)

    def test_fair_and_queue_calls(self):
        def setup(a):
            fair = cs.Fair(allocator=a)
            queue = cs.Queue("fairshare", fair=fair, allocator=a)
            return [fair, queue]

        def observe(handles):
            fair, queue = handles
            return fair.tenants(), queue.order(10)

        self.assertGreater(self.call_loop(setup, lambda h: h[0].set_weight(77, 2.0),
                                          observe), 0)
        self.assertGreater(self.call_loop(setup, lambda h: h[0].charge(78, 2.0, 10),
                                          observe), 0)
        self.assertGreater(self.call_loop(
            setup, lambda h: h[1].push(cs.Task(100, [1], tenant=50), 10), observe), 0)

    def test_balance_workspace_growth(self):
        def setup(a):
            return [cs.BalanceWorkspace(allocator=a)]

        def observe(handles):
            return None  # scratch only: nothing observable beyond success

        self.assertGreater(self.call_loop(setup, lambda h: h[0].reserve(1000), observe), 0)
        # A solve that must grow the workspace fails cleanly, then succeeds.
        self.assertGreater(self.call_loop(
            setup, lambda h: h[0].solve(10, upper=[4] * 50), observe), 0)

    def test_predictor_new_key(self):
        # Key storage grows geometrically: find a key count m whose next new
        # key makes the predictor allocate, then fail that call's allocations.
        def setup_with(m):
            def setup(a):
                p = cs.Predictor(allocator=a)
                for k in range(m):
                    p.observe(k, 10.0, user_estimate=20.0)
                return [p]
            return setup

        def observe(handles):
            p = handles[0]
            return p.num_keys, [p.model_info(k) for k in range(p.num_keys)]

        for m in range(0, 1025):
            a = cs.CountingAllocator()
            (p,) = setup_with(m)(a)
            before = a.requests
            p.observe(m, 10.0, user_estimate=20.0)
            grew = a.requests > before
            p.close()
            if grew:
                break
        self.assertTrue(grew, "no new key up to 1024 allocated memory")
        self.assertGreater(self.call_loop(
            setup_with(m), lambda h: h[0].observe(m, 10.0, user_estimate=20.0), observe), 0)

if __name__ == "__main__":
    unittest.main()
