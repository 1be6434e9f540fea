"""Lifetime of handles: close, double close, use after close, context
managers, borrowing (Scheduler -> Pool, Predictor; Queue -> Fair) under every
destruction order, garbage collection of cycles, no leaks.

A CountingAllocator given to a handle tells when its C memory is freed:
``in_use`` drops to 0 exactly when the C destroy function has run.
"""

import gc
import unittest

import _setup
import cloudsched as cs


def make(cls, *args, **kwargs):
    a = cs.CountingAllocator()
    return cls(*args, allocator=a, **kwargs), a


class CloseAndUse(unittest.TestCase):
    def test_every_handle(self):
        factories = [
            lambda a: cs.Pool(2, allocator=a),
            lambda a: cs.Fair(allocator=a),
            lambda a: cs.Queue(allocator=a),
            lambda a: cs.Predictor(allocator=a),
            lambda a: cs.RLS(2, allocator=a),
            lambda a: cs.LeastSquares(3, 2, allocator=a),
            lambda a: cs.BalanceWorkspace(allocator=a),
            lambda a: cs.QPWorkspace(3, 1, 1, allocator=a),
        ]
        for factory in factories:
            a = cs.CountingAllocator()
            h = factory(a)
            with self.subTest(type(h).__name__):
                self.assertFalse(h.closed)
                self.assertGreater(a.in_use, 0)
                h.close()
                self.assertTrue(h.closed)
                self.assertEqual(a.in_use, 0)
                h.close()  # double close: a no-op
                self.assertEqual(a.in_use, 0)
                self.assertIn("closed", repr(h))

    def test_use_after_close_raises(self):
        pool = cs.Pool(1)
        pool.close()
        for call in (lambda: pool.add_node([1]), lambda: len(pool), lambda: pool.nodes(),
                     lambda: pool.num_resources, lambda: pool.fit([1])):
            with self.assertRaises(cs.ClosedError) as ctx:
                call()
            self.assertIsInstance(ctx.exception, cs.InvalidState)
            self.assertIn("Pool is closed", str(ctx.exception))
        with self.assertRaises(cs.ClosedError):
            cs.Scheduler(pool)
        q = cs.Queue()
        q.close()
        with self.assertRaises(cs.ClosedError):
            q.push(cs.Task(1, [1]), 0)
        with self.assertRaises(cs.ClosedError):
            len(q)

    def test_context_manager(self):
        a = cs.CountingAllocator()
        with cs.Pool(1, allocator=a) as pool:
            pool.add_node([1])
            self.assertGreater(a.in_use, 0)
        self.assertTrue(pool.closed)
        self.assertEqual(a.in_use, 0)

    def test_garbage_collection_frees(self):
        a = cs.CountingAllocator()
        pool = cs.Pool(1, allocator=a)
        pool.add_node([1])
        del pool
        gc.collect()
        self.assertEqual(a.in_use, 0)


class Borrowing(unittest.TestCase):
    def test_scheduler_keeps_pool_alive(self):
        a = cs.CountingAllocator()

        def build():
            pool = cs.Pool(["cpu"], allocator=a)
            pool.add_node([4], 1)
            return cs.Scheduler(pool)  # the only reference to the pool is inside

        s = build()
        gc.collect()
        s.submit(cs.Task(1, [2]), 0)
        self.assertEqual(s.step(0)[0].node, 1)
        self.assertEqual(s.pool.num_nodes, 1)
        del s
        gc.collect()
        self.assertEqual(a.in_use, 0)

    def test_closing_the_lender_first_defers_its_destruction(self):
        pool, pa = make(cs.Pool, ["cpu"])
        pool.add_node([4], 1)
        sched, sa = make(cs.Scheduler, pool)
        pool.close()
        self.assertTrue(pool.closed)
        with self.assertRaises(cs.ClosedError):
            pool.nodes()
        self.assertGreater(pa.in_use, 0)       # the C pool lives on for the scheduler
        sched.submit(cs.Task(1, [4]), 0)
        self.assertEqual(len(sched.step(0)), 1)  # and the scheduler still works
        sched.close()
        self.assertEqual(sa.in_use, 0)
        self.assertEqual(pa.in_use, 0)         # destroyed with its last borrower

    def test_closing_the_borrower_first(self):
        pool, pa = make(cs.Pool, ["cpu"])
        sched, sa = make(cs.Scheduler, pool)
        sched.close()
        self.assertEqual(sa.in_use, 0)
        self.assertGreater(pa.in_use, 0)
        pool.add_node([1])  # the pool is still the caller's
        pool.close()
        self.assertEqual(pa.in_use, 0)

    def test_finalizers_in_either_order(self):
        # In a garbage cycle Python runs finalizers in no particular order;
        # calling __del__ by hand reproduces both orders.
        for lender_first in (True, False):
            with self.subTest(lender_first=lender_first):
                fair, fa = make(cs.Fair)
                queue, qa = make(cs.Queue, "fairshare", fair=fair)
                queue.push(cs.Task(1, [1], tenant=5), 0)
                if lender_first:
                    fair.__del__()
                    self.assertGreater(fa.in_use, 0)  # the queue still needs it
                    queue.__del__()
                else:
                    queue.__del__()
                    self.assertEqual(qa.in_use, 0)
                    fair.__del__()
                self.assertEqual((fa.in_use, qa.in_use), (0, 0))

    def test_reference_cycles_are_collected(self):
        pa, sa, ra = cs.CountingAllocator(), cs.CountingAllocator(), cs.CountingAllocator()
        pool = cs.Pool(["cpu"], allocator=pa)
        pred = cs.Predictor(allocator=ra)
        sched = cs.Scheduler(pool, predictor=pred, allocator=sa)
        pool.add_node([2], 1)
        sched.submit(cs.Task(1, [1]), 0)
        sched.step(0)
        # A cycle through all three objects.
        pool.me, pred.me, sched.me = sched, pool, pred
        del pool, pred, sched
        gc.collect()
        self.assertEqual((pa.in_use, sa.in_use, ra.in_use), (0, 0, 0))

    def test_predictor_borrowed(self):
        pred, ra = make(cs.Predictor)
        pool = cs.Pool(["cpu"])
        pool.add_node([2], 1)
        sched = cs.Scheduler(pool, predictor=pred)
        pred.close()
        sched.submit(cs.Task(1, [1], runtime_estimate=10), 0)
        sched.step(0)
        sched.complete(1, 8)  # trains the (closed for Python) predictor
        self.assertGreater(ra.in_use, 0)
        sched.close()
        pool.close()
        self.assertEqual(ra.in_use, 0)


class NoLeaks(unittest.TestCase):
    def test_repeated_use_returns_all_memory(self):
        a = cs.CountingAllocator()
        for i in range(20):
            with cs.Pool(["cpu", "mem"], allocator=a) as pool, \
                    cs.Scheduler(pool, allocator=a, placement="balanced") as s:
                for n in range(5):
                    pool.add_node([8, 16], n)
                for t in range(30):
                    s.submit(cs.Task(t, [1, 2], tenant=t % 3), t)
                    for d in s.step(t):
                        if d.task % 2:
                            s.complete(d.task, t)
                s.node_down(1, 40)
                s.check()
            self.assertEqual(a.in_use, 0)
        self.assertGreater(a.peak, 0)


if __name__ == "__main__":
    unittest.main()
