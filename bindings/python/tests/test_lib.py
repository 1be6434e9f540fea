"""Library loading, struct layouts, status codes and the error mapping."""

import ctypes
import os
import subprocess
import sys
import unittest

import _setup
import cloudsched as cs
from cloudsched import _lib, errors
from cloudsched._lib import lib


def run_python(code, env_update=None, drop_env=()):
    """Run code in a fresh interpreter with the package importable."""
    env = dict(os.environ)
    for k in drop_env:
        env.pop(k, None)
    env.update(env_update or {})
    env["PYTHONPATH"] = _setup.PACKAGE_DIR
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


class StructLayout(unittest.TestCase):
    """Every mirrored struct must have exactly the size the library expects:
    cs_X_init accepts sizes up to its own sizeof and rejects larger ones, so
    init(sizeof) succeeding and init(sizeof + 1) failing pins the size."""

    def test_init_accepts_exactly_sizeof(self):
        for struct_type, init_name in _lib.INIT_FUNCTIONS.items():
            with self.subTest(struct=struct_type.__name__):
                init = getattr(lib, init_name)
                s = struct_type()
                size = ctypes.sizeof(s)
                init(ctypes.byref(s), size)
                self.assertEqual(s.size, size)
                big = ctypes.create_string_buffer(size + 8)
                with self.assertRaises(cs.InvalidArgument):
                    init(ctypes.cast(big, ctypes.POINTER(struct_type)), size + 1)

    def test_output_structs_accept_exactly_sizeof(self):
        # Structs without an init function: the size member is checked by the
        # function that fills them.
        with cs.Pool(1) as pool, cs.Scheduler(pool) as sched:
            node = pool.add_node([4])
            sched.submit(cs.Task(7, [1]), 0)
            cases = [
                (_lib.cs_node_info, lambda p: lib.cs_pool_node_info(pool._h(), node, p,
                                                                    None, None, None)),
                (_lib.cs_task_info, lambda p: lib.cs_sched_task_info(sched._h(), 7, p)),
                (_lib.cs_sched_counts, lambda p: lib.cs_sched_counts_get(sched._h(), p)),
            ]
            for struct_type, call in cases:
                with self.subTest(struct=struct_type.__name__):
                    size = ctypes.sizeof(struct_type)
                    buf = ctypes.create_string_buffer(size + 8)
                    ctypes.c_size_t.from_buffer(buf).value = size
                    call(ctypes.cast(buf, ctypes.POINTER(struct_type)))
                    ctypes.c_size_t.from_buffer(buf).value = size + 1
                    with self.assertRaises(cs.InvalidArgument):
                        call(ctypes.cast(buf, ctypes.POINTER(struct_type)))

    def test_plain_struct_sizes(self):
        # Array elements without a size member: sizes by the C layout rules
        # on LP64 (8-byte uint64 aligned, 4-byte enums and uint32).
        if ctypes.sizeof(ctypes.c_void_p) != 8:
            self.skipTest("LP64 only")
        self.assertEqual(ctypes.sizeof(_lib.cs_label), 16)            # 2 pointers
        self.assertEqual(ctypes.sizeof(_lib.cs_allocation_info), 24)  # 3 x uint64
        # kind 4 + reason 4 + 4 x uint64 + replicas 4 + padding 4
        self.assertEqual(ctypes.sizeof(_lib.cs_decision), 48)
        self.assertEqual(ctypes.sizeof(_lib.cs_allocator), 32)        # 4 pointers

    def test_defaults_land_in_the_documented_members(self):
        # The defaults documented in the headers, read back through the
        # mirrors: a member at a wrong offset would read some other value.
        o = _lib.init_struct(_lib.cs_sched_options)
        self.assertEqual((o.policy, o.placement, o.head_of_line), (0, 0, 2))
        self.assertEqual(o.backfill_depth, 1)
        self.assertEqual(o.default_runtime, 3600.0)
        self.assertEqual(o.fair_half_life, 604800.0)
        self.assertEqual((o.preemption, o.fail_on_node_down, o.max_scan), (0, 0, 0))
        self.assertEqual((o.use_predictions, o.predictor), (0, None))
        p = _lib.init_struct(_lib.cs_predict_options)
        self.assertEqual((p.num_features, p.estimate_feature, p.min_samples), (0, 1, 0))
        self.assertEqual((p.forgetting, p.ridge, p.quantile), (1.0, 1e-3, 0.9))
        self.assertEqual((p.band_window, p.fallback, p.use_global), (64, 0, 1))
        self.assertEqual((p.cap_at_estimate, p.min_value), (1, 1.0))
        t = _lib.init_struct(_lib.cs_task_spec)
        self.assertEqual((t.count, t.tenant, t.priority, t.elastic_min), (1, 0, 0, 0))
        self.assertEqual((t.partition, t.locality_weight, t.topology),
                         (cs.PARTITION_ANY, 1.0, 0))
        q = _lib.init_struct(_lib.cs_queue_options)
        self.assertEqual((q.policy, q.aging_slope, q.default_runtime), (0, 0.0, 3600.0))
        f = _lib.init_struct(_lib.cs_fair_options)
        self.assertEqual((f.half_life, f.num_resources, f.default_weight),
                         (604800.0, 0, 1.0))
        n = _lib.init_struct(_lib.cs_node_spec)
        self.assertEqual((n.zone, n.rack, n.partition, n.state), (0, 0, 0, 0))
        fq = _lib.init_struct(_lib.cs_fit_query)
        self.assertEqual((fq.partition, fq.num_labels, fq.num_exclude),
                         (cs.PARTITION_ANY, 0, 0))
        lo = _lib.init_struct(_lib.cs_lsq_options)
        self.assertEqual((lo.method, lo.intercept, lo.ridge, lo.rcond, lo.nrhs),
                         (0, 0, 0.0, 0.0, 1))
        r = _lib.init_struct(_lib.cs_rls_options)
        self.assertEqual((r.forgetting, r.ridge, r.block_rows), (1.0, 0.0, 64))
        qs = _lib.init_struct(_lib.cs_qp_settings)
        self.assertEqual((qs.eps_abs, qs.eps_rel, qs.eps_infeasible), (1e-8, 1e-8, 1e-8))
        self.assertEqual((qs.max_iter, qs.equilibrate_iter, qs.static_reg, qs.refine_iter),
                         (100, 10, 1e-8, 8))
        bp = _lib.init_struct(_lib.cs_balance_problem)
        self.assertEqual((bp.n, bp.total, bool(bp.weight), bool(bp.upper)), (0, 0.0, False, False))
        bi = _lib.init_struct(_lib.cs_balance_int_problem)
        self.assertEqual((bi.n, bi.total, bool(bi.lower)), (0, 0, False))

    def test_every_prototype_is_exported(self):
        lib.cs_version()  # loads
        self.assertEqual([n for n in _lib.PROTOTYPES if not lib.has(n)], [])
        self.assertEqual(lib.missing, [])


class Status(unittest.TestCase):
    def test_every_status_maps_to_its_class_and_text(self):
        expected = {
            -1: cs.InvalidArgument, -2: cs.OutOfMemory, -3: cs.NotFound,
            -4: cs.AlreadyExists, -5: cs.OutOfCapacity, -6: cs.Overflow,
            -7: cs.Infeasible, -8: cs.Singular, -9: cs.NotConverged,
            -10: cs.InvalidState, -11: cs.DimensionMismatch, -12: cs.BufferTooSmall,
            -13: cs.Unbounded, -14: cs.NumericalFailure, -15: cs.Busy,
        }
        for code, cls in expected.items():
            with self.subTest(code=code):
                with self.assertRaises(cls) as ctx:
                    _lib.raise_status(code, "cs_example")
                e = ctx.exception
                self.assertIsInstance(e, cs.CloudschedError)
                self.assertEqual(e.status, code)
                self.assertEqual(e.name, "CS_" + cs.Status(code).name)
                self.assertEqual(e.name, cs.status_name(code))
                self.assertEqual(e.text, cs.status_str(code))
                self.assertTrue(e.text and e.text != "unknown status")
                self.assertIn("cs_example", str(e))
                self.assertIn(e.name, str(e))

    def test_builtin_bases(self):
        self.assertTrue(issubclass(cs.InvalidArgument, ValueError))
        self.assertTrue(issubclass(cs.DimensionMismatch, ValueError))
        self.assertTrue(issubclass(cs.NotFound, LookupError))
        self.assertTrue(issubclass(cs.OutOfMemory, MemoryError))
        self.assertTrue(issubclass(cs.Overflow, OverflowError))
        self.assertTrue(issubclass(cs.ClosedError, cs.InvalidState))

    def test_unknown_status(self):
        self.assertEqual(cs.status_str(-999), "unknown status")
        self.assertEqual(cs.status_name(-999), "CS_UNKNOWN")
        e = errors.error_for(-999, "x")
        self.assertIs(type(e), cs.CloudschedError)
        self.assertEqual(e.status, -999)

    def test_ok_names(self):
        self.assertEqual(cs.status_name(0), "CS_OK")

    def test_c_errors_come_through_the_choke_point(self):
        with cs.Pool(2) as pool:
            with self.assertRaises(cs.NotFound) as ctx:
                pool.release(12345)
            self.assertEqual(ctx.exception.function, "cs_pool_release")
            self.assertEqual(ctx.exception.status, cs.Status.ERR_NOT_FOUND)


class BindingChecks(unittest.TestCase):
    """Values ctypes would silently wrap are refused before reaching C."""

    def test_counts_ids_and_types(self):
        with cs.Pool(1) as pool, cs.Queue() as q:
            pool.add_node([4], 1)
            cases = [
                (cs.InvalidArgument, lambda: q.order(0, limit=-1)),
                (cs.InvalidArgument, lambda: cs.LeastSquares(-1, 2)),
                (cs.InvalidArgument, lambda: cs.RLS(-3)),
                (cs.InvalidArgument, lambda: cs.QPWorkspace(-1)),
                (cs.InvalidArgument, lambda: cs.polyfit([1, 2], [1, 2], -1)),
                (cs.InvalidArgument, lambda: pool.allocate(-1, [1])),
                (cs.InvalidArgument, lambda: pool.allocate(2**64, [1])),
                (cs.InvalidArgument, lambda: pool.allocate(1.5, [1])),
                (cs.InvalidArgument, lambda: pool.allocate(1, [1], owner="x")),
                (cs.Overflow, lambda: pool.allocate(1, [2**63])),
                (cs.InvalidArgument, lambda: pool.add_node([1], labels={"k": "a\0b"})),
                (cs.InvalidArgument, lambda: pool.add_node([1], labels=["k"])),
                (cs.InvalidArgument, lambda: pool.add_node([1], zone=2**32)),
                (cs.InvalidArgument, lambda: q.push(cs.Task(1, [1], priority=1.5), 0)),
                (cs.InvalidArgument, lambda: q.push(cs.Task(1, [1]), "soon")),
                (cs.InvalidArgument, lambda: cs.Scheduler(pool, placement="nearest")),
            ]
            for cls, call in cases:
                with self.subTest(cls=cls.__name__):
                    with self.assertRaises(cls):
                        call()
            self.assertEqual((pool.num_allocations, pool.nodes(), len(q)), (0, [1], 0))

    def test_enum_names(self):
        with cs.Pool(1) as pool:
            for name in ("best_fit", "BEST_FIT", "best-fit", 1, cs.Placement.BEST_FIT):
                with cs.Scheduler(pool, placement=name) as s:
                    self.assertEqual(s.placement, cs.Placement.BEST_FIT)


class Version(unittest.TestCase):
    def test_version_string_matches_number(self):
        major, minor, patch = (int(v) for v in cs.version().split("."))
        self.assertEqual(lib.cs_version_number(), major * 10000 + minor * 100 + patch)
        self.assertEqual(major, _lib.ABI_MAJOR)


class Loading(unittest.TestCase):
    def test_uses_the_environment_variable(self):
        want = os.environ.get("CLOUDSCHED_LIBRARY")
        if not want:
            self.skipTest("CLOUDSCHED_LIBRARY is not set (run by hand)")
        self.assertEqual(os.path.realpath(cs.library_path()), os.path.realpath(want))

    def test_bad_environment_variable_is_final_and_listed(self):
        r = run_python("import cloudsched as cs\n"
                       "try:\n    cs.Pool(1)\nexcept ImportError as e:\n"
                       "    print('IMPORTERROR', e)\n",
                       {"CLOUDSCHED_LIBRARY": "/nonexistent/libcloudsched.so"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("IMPORTERROR", r.stdout)
        self.assertIn("/nonexistent/libcloudsched.so", r.stdout)
        self.assertIn("CLOUDSCHED_LIBRARY", r.stdout)
        self.assertNotIn("find_library", r.stdout)  # an explicit choice is final

    def test_explicit_path_that_is_not_the_library(self):
        r = run_python("import cloudsched as cs, ctypes.util\n"
                       "try:\n    cs.load_library(ctypes.util.find_library('m') or "
                       "'/lib/x86_64-linux-gnu/libm.so.6')\n"
                       "except ImportError as e:\n    print('IMPORTERROR', e)\n")
        self.assertIn("IMPORTERROR", r.stdout, r.stderr)
        self.assertIn("not libcloudsched", r.stdout)

    def test_explicit_path_loads(self):
        path = cs.library_path()
        r = run_python(f"import cloudsched as cs\nprint(cs.load_library({path!r}))\n"
                       "print(cs.Pool(1).num_resources)\n", drop_env=["CLOUDSCHED_LIBRARY"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [path, "1"])

    def test_finds_the_checkout_build_without_environment(self):
        # The search falls back to build*/src of this source tree.
        r = run_python("import cloudsched as cs\nprint(cs.library_path())\n",
                       drop_env=["CLOUDSCHED_LIBRARY"])
        self.assertEqual(r.returncode, 0, r.stderr)
        found = r.stdout.strip()
        self.assertTrue(found.startswith(os.path.join(_setup.ROOT, "build")), found)
        self.assertIn(os.sep + "src" + os.sep + "libcloudsched", found)

    def test_import_does_not_load(self):
        r = run_python("import cloudsched, cloudsched._lib as l\nprint(l.lib.cdll is None)\n")
        self.assertEqual(r.stdout.strip(), "True", r.stderr)

    def test_second_library_is_refused(self):
        cs.library_path()
        with self.assertRaises(RuntimeError):
            cs.load_library("/some/other/libcloudsched.so")
        # The same path again is fine.
        self.assertEqual(cs.load_library(cs.library_path()), cs.library_path())


class Help(unittest.TestCase):
    def test_docstrings(self):
        import pydoc
        text = pydoc.render_doc(cs.Scheduler, renderer=pydoc.plaintext)
        for word in ("submit", "step", "complete", "backfill_depth", "Raises"):
            self.assertIn(word, text)
        for name in cs.__all__:
            obj = getattr(cs, name)
            if callable(obj) and not isinstance(obj, int):
                self.assertTrue(getattr(obj, "__doc__", None), name)


if __name__ == "__main__":
    unittest.main()
