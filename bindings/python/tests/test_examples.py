"""The Python examples: each mirror prints exactly what its C original
prints; the GPU-cluster placements are checked against the physical GPU
model and a brute-force first fit written here."""

import contextlib
import glob
import importlib.util
import io
import os
import subprocess
import sys
import unittest

import _setup

EXAMPLES = os.path.join(_setup.ROOT, "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def c_example(name):
    """The built C example next to the library under test, if any."""
    lib = os.environ.get("CLOUDSCHED_LIBRARY")
    dirs = [os.path.join(os.path.dirname(os.path.dirname(lib)), "examples")] if lib else []
    dirs += glob.glob(os.path.join(_setup.ROOT, "build*", "examples"))
    for d in dirs:
        exe = os.path.join(d, name)
        if os.access(exe, os.X_OK):
            return exe
    return None


def run(argv):
    env = dict(os.environ, PYTHONPATH=_setup.PACKAGE_DIR)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


class Mirrors(unittest.TestCase):
    def compare(self, name, args=()):
        exe = c_example(name)
        if exe is None:
            self.skipTest(f"the C example {name} is not built")
        c = run([exe, *args])
        py = run([sys.executable, os.path.join(EXAMPLES, name + ".py"), *args])
        self.assertEqual(py.returncode, 0, py.stderr)
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertEqual(py.stdout, c.stdout)
        self.assertTrue(py.stdout)

    def test_minimal_loop(self):
        self.compare("minimal_loop")

    def test_balance_alibaba_builtin_slice(self):
        self.compare("balance_alibaba", ["/nonexistent"])

    def test_balance_alibaba_trace(self):
        data = os.path.join(_setup.ROOT, "..", "shared", "data")
        if not os.path.isdir(os.path.join(data, "alibaba-gpu-v2023")):
            self.skipTest("no Alibaba trace")
        self.compare("balance_alibaba", [data])


class GpuCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gc = load("gpu_cluster")
        cls.nodes = cls.gc.load_nodes(cls.gc.SLICE_NODES)
        cls.tasks = cls.gc.load_tasks(cls.gc.SLICE_PODS)

    def physically_valid(self, placements):
        """Every node's cpu and memory within capacity; every GPU at most
        1000 milli; a whole GPU never shared."""
        cpu, mem = {}, {}
        gpu_use = {}   # (node, gpu) -> milli used
        whole = set()  # GPUs held whole
        for k, (node, gpus) in placements.items():
            t, n = self.tasks[k], self.nodes[node]
            cpu[node] = cpu.get(node, 0) + t.cpu
            mem[node] = mem.get(node, 0) + t.mem
            self.assertLessEqual(cpu[node], n.cpu)
            self.assertLessEqual(mem[node], n.mem)
            self.assertEqual(len(gpus), 0 if t.num_gpu == 0 else (1 if t.shared else t.num_gpu))
            for g in gpus:
                self.assertLess(g, n.gpus)
                key = (node, g)
                if t.shared:
                    self.assertNotIn(key, whole)
                    gpu_use[key] = gpu_use.get(key, 0) + t.gpu_milli
                    self.assertLessEqual(gpu_use[key], 1000)
                else:
                    self.assertNotIn(key, gpu_use)
                    self.assertNotIn(key, whole)
                    whole.add(key)

    def test_placements_are_physical_for_every_strategy(self):
        for s in self.gc.STRATEGIES:
            with self.subTest(strategy=s):
                o = self.gc.run(self.nodes, self.tasks, s)
                self.physically_valid(o.placements)
                self.assertEqual(len(o.placements), o.placed_total)
                self.assertEqual(len(o.curve), len(self.tasks))

    def test_first_fit_equals_brute_force(self):
        # Reference: for each task in order, the lowest-numbered node where it
        # fits physically (cpu, memory, and the GPU rule: a shared task on the
        # fullest GPU that holds it, a k-GPU task on k free GPUs, lowest first).
        free_cpu = [n.cpu for n in self.nodes]
        free_mem = [n.mem for n in self.nodes]
        gpu = [[1000] * n.gpus for n in self.nodes]
        want, first_failure = {}, None
        for k, t in enumerate(self.tasks):
            for i, n in enumerate(self.nodes):
                if free_cpu[i] < t.cpu or free_mem[i] < t.mem:
                    continue
                if t.num_gpu == 0:
                    use = []
                elif t.shared:
                    fits = sorted((f, g) for g, f in enumerate(gpu[i]) if f >= t.gpu_milli)
                    use = [fits[0][1]] if fits else None
                else:
                    free = [g for g, f in enumerate(gpu[i]) if f == 1000]
                    use = free[:t.num_gpu] if len(free) >= t.num_gpu else None
                if use is None:
                    continue
                free_cpu[i] -= t.cpu
                free_mem[i] -= t.mem
                for g in use:
                    gpu[i][g] -= t.gpu_milli if t.shared else 1000
                want[k] = (i, use)
                break
            else:
                if first_failure is None:
                    first_failure = t.name
        o = self.gc.run(self.nodes, self.tasks, "first_fit")
        self.assertEqual(o.placements, want)
        self.assertEqual(o.first_failure, first_failure)
        self.assertIsNotNone(first_failure)  # the slice does run out of room

    def test_main_on_the_slice(self):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            self.gc.main(["--data-dir", "/nonexistent", "--no-plot",
                          "--strategies", "first_fit,worst_fit"])
        self.assertIn("built-in slice", err.getvalue())
        self.assertIn("worst_fit", out.getvalue())


if __name__ == "__main__":
    unittest.main()
