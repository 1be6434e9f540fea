#!/usr/bin/env python3
"""End-to-end test of cloudsched-slurm against real Slurm daemons.

Starts a private cluster on loopback, in a temporary directory: munged with a
freshly generated key and its own socket, one slurmctld and four slurmd
(`slurmd -N n1..n4`, NodeName=n[1-4] with NodeHostname set to this host,
distinct ports, SlurmdParameters=config_overrides so that they may declare
more CPUs than the machine has), all on free non-default ports. Every daemon
runs in the foreground as a child of this script with a parent-death signal,
and is stopped by its pid in a `finally`, also when a check fails or the test
is interrupted, so none outlives the test.

Then:
1. `cloudsched-slurm --once` before slurmctld is up must fail with exit 2 and
   a clear message.
2. A workload of held sleep jobs from three accounts run by three Unix users
   (root, nobody, daemon: `sbatch --uid`, root only; these accounts exist on
   every Debian system, so the test creates no user) with different sizes,
   memory and time limits, and one two-node gang job, is submitted; the
   integration runs with fair share and EASY backfilling; meanwhile one
   pending job is cancelled, node n4 is drained, and node n3 goes down for a
   few seconds (Slurm kills and requeues its jobs; the library re-decides
   them once Slurm's requeue delay has passed).
3. Checks, through `scontrol show job` (Slurm's own record): every job
   completed (the cancelled one is CANCELLED); each ran on exactly the
   node(s) of the library's last decision for it; Slurm's start times follow
   the library's decision order (non-decreasing in decision sequence, at
   Slurm's one-second resolution) and no job started before the library
   decided it; nothing was started on n4 after it was drained, nor on n3
   while it was down; the library's
   invariant checker (--check) never failed; the program exited 0.

Exit 77 (meson: skipped) when Slurm is not installed, the program was not
built, or the test does not run as root (slurmd must switch users).
"""
import argparse
import ctypes
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
NODES = ["n1", "n2", "n3", "n4"]
CPUS = 4          # per node, declared (config_overrides lets it exceed the host)
MEM = 2000        # MiB per node
DEF_MEM_PER_CPU = 100


def log(msg):
    print(f"[slurm-e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def skip(msg):
    print(f"SKIP: {msg}", flush=True)
    sys.exit(SKIP)


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def free_ports(n):
    """n distinct free TCP ports on loopback (bound and released at once)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the daemon gets SIGTERM if this script dies.
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


class Cluster:
    def __init__(self, root):
        self.root = root
        self.procs = []  # (name, Popen) in start order
        self.env = dict(os.environ)
        self.host = socket.gethostname()

    def path(self, *p):
        return os.path.join(self.root, *p)

    def start(self, name, argv):
        out = open(self.path("log", name + ".out"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                             preexec_fn=_die_with_parent, cwd=self.root)
        out.close()
        self.procs.append((name, p))
        log(f"started {name} (pid {p.pid})")
        return p

    def run(self, argv, timeout=60, check_rc=True):
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check_rc and r.returncode != 0:
            raise Failed(f"{' '.join(argv)} -> {r.returncode}: {r.stderr.strip()}")
        return r

    def setup(self):
        for d in ["log", "state", "munge"] + [os.path.join("spool", n) for n in NODES]:
            os.makedirs(self.path(d), exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chmod(self.path("munge"), 0o755)  # munged wants its socket dir searchable
        key = self.path("munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        ctld_port, *node_ports = free_ports(1 + len(NODES))
        self.munge_socket = self.path("munge", "munge.socket")
        self.conf = self.path("slurm.conf")
        lines = [
            "ClusterName=cstest",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # cred_expire also sets how long Slurm delays a requeued job
            # (default 120 s): short, so that jobs hit by the node failure
            # below run again within the test's time.
            f"AuthInfo=socket={self.munge_socket},cred_expire=10",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"StateSaveLocation={self.path('state')}",
            f"SlurmdSpoolDir={self.path('spool', '%n')}",
            f"SlurmctldPidFile={self.path('slurmctld.pid')}",
            f"SlurmdPidFile={self.path('slurmd.%n.pid')}",
            f"SlurmctldLogFile={self.path('log', 'slurmctld.log')}",
            f"SlurmdLogFile={self.path('log', 'slurmd.%n.log')}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "MailProg=/bin/true",
            # FIFO over priorities: released jobs start in the library's order.
            "SchedulerType=sched/builtin",
            "PriorityType=priority/basic",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU_Memory",
            f"DefMemPerCPU={DEF_MEM_PER_CPU}",
            "SlurmdParameters=config_overrides",
            "ReturnToService=1",   # a node set down stays down until resumed
            "MinJobAge=3600",      # finished jobs stay visible to scontrol
            "InactiveLimit=0",
            "KillWait=2",
            "Waittime=0",
            "SlurmdTimeout=60",
        ]
        for n, port in zip(NODES, node_ports):
            lines.append(f"NodeName={n} NodeHostname={self.host} NodeAddr=127.0.0.1 "
                         f"Port={port} CPUs={CPUS} RealMemory={MEM} State=UNKNOWN")
        lines.append(f"PartitionName=batch Nodes=n[1-{len(NODES)}] Default=YES "
                     "MaxTime=60 State=UP")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.env["SLURM_CONF"] = self.conf

    def start_munge(self):
        self.start("munged", ["munged", "-F", f"--socket={self.munge_socket}",
                              f"--key-file={self.path('munge', 'munge.key')}",
                              f"--pid-file={self.path('munge', 'munged.pid')}",
                              f"--seed-file={self.path('munge', 'munged.seed')}",
                              f"--log-file={self.path('log', 'munged.log')}"])
        wait_for(lambda: os.path.exists(self.munge_socket), 20, "munged socket")

    def start_slurm(self):
        self.start("slurmctld", ["slurmctld", "-D", "-f", self.conf])
        wait_for(lambda: self.run(["scontrol", "ping"], check_rc=False).returncode == 0
                 and "UP" in self.run(["scontrol", "ping"], check_rc=False).stdout,
                 60, "slurmctld to answer")
        for n in NODES:
            self.start("slurmd-" + n, ["slurmd", "-D", "-N", n, "-f", self.conf])

        def idle():
            r = self.run(["sinfo", "-h", "-N", "-o", "%N %t"], check_rc=False)
            states = dict(l.split() for l in r.stdout.splitlines() if l.strip())
            return len(states) == len(NODES) and all(s == "idle" for s in states.values())
        wait_for(idle, 90, "four idle nodes")
        log("cluster up: " + self.run(["sinfo", "-h", "-N", "-o", "%N:%t:%c"]).stdout.replace("\n", " "))

    def stop(self):
        # Jobs first, so that no slurmstepd is left behind, then the daemons,
        # newest first, each by its pid.
        if any(name == "slurmctld" and p.poll() is None for name, p in self.procs):
            try:
                self.run(["scancel", "--full", "--quiet", "--partition=batch"], timeout=20,
                         check_rc=False)
                wait_for(lambda: not self.run(["squeue", "-h"], timeout=20,
                                              check_rc=False).stdout.strip(),
                         20, "jobs to drain", fatal=False)
            except Exception as exc:  # the daemons are stopped regardless
                log(f"scancel at cleanup: {exc}")
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 15
        for name, p in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {p.pid}) ignored SIGTERM: killing it")
                p.kill()
                p.wait()
        log("all daemons stopped")

    def tail_logs(self, n=25):
        for f in sorted(os.listdir(self.path("log"))):
            with open(self.path("log", f), errors="replace") as fh:
                lines = fh.readlines()[-n:]
            print(f"---- {f} (last {len(lines)} lines)")
            print("".join(lines), end="")


def wait_for(pred, timeout, what, fatal=True, step=0.25):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return True
        except (subprocess.SubprocessError, ValueError):
            pass
        time.sleep(step)
    if fatal:
        raise Failed(f"timed out after {timeout}s waiting for {what}")
    return False


def show_jobs(cluster):
    """Slurm's record of every job: {id: {Key: Value}} from `scontrol -o`."""
    out = cluster.run(["scontrol", "-o", "show", "job"]).stdout
    jobs = {}
    for line in out.splitlines():
        fields = {}
        for tok in re.findall(r"(\S+?)=(\S*)", line):
            fields.setdefault(tok[0], tok[1])
        if "JobId" in fields:
            jobs[int(fields["JobId"])] = fields
    return jobs


def hostnames(cluster, expr):
    if not expr or expr == "(null)":
        return []
    return cluster.run(["scontrol", "show", "hostnames", expr]).stdout.split()


def epoch(ts):
    return time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%S"))


# The workload: (account, user, cpus, mem MiB or None for the default, time
# limit in minutes, sleep seconds, nodes). Sizes and limits differ so that
# fair share, backfilling and best fit all matter.
WORKLOAD = [
    ("physics", "root", 4, None, 3, 6, 1),
    ("physics", "root", 2, None, 2, 4, 1),
    ("biology", "nobody", 1, 300, 1, 3, 1),
    ("physics", "root", 3, None, 2, 5, 1),
    ("biology", "nobody", 2, None, 1, 3, 1),
    ("chemistry", "daemon", 4, 1800, 4, 6, 1),
    ("biology", "nobody", 1, None, 1, 2, 1),
    ("chemistry", "daemon", 2, None, 2, 4, 1),
    ("physics", "root", 1, None, 1, 3, 1),
    ("chemistry", "daemon", 4, None, 2, 4, 2),   # gang: 2 nodes x 2 CPUs
    ("biology", "nobody", 3, None, 2, 5, 1),
    ("physics", "root", 2, 1000, 1, 3, 1),
    ("chemistry", "daemon", 1, None, 1, 2, 1),
    ("biology", "nobody", 2, None, 3, 4, 1),
    ("physics", "root", 1, None, 1, 2, 1),
    ("chemistry", "daemon", 3, None, 2, 3, 1),
    ("biology", "nobody", 4, None, 5, 6, 1),     # cancelled while pending
    ("physics", "root", 2, None, 1, 3, 1),
]
CANCEL_INDEX = 16


def submit_workload(cluster):
    # sbatch --uid (root only) exists up to Slurm 22.05; without it every job
    # runs as root, and the tenants are still the three accounts.
    with_uid = "--uid" in cluster.run(["sbatch", "--help"], check_rc=False).stdout
    if not with_uid:
        log("sbatch has no --uid: all jobs run as root (tenants are the accounts)")
    ids = []
    for acct, user, cpus, mem, limit, secs, nodes in WORKLOAD:
        argv = ["sbatch", "--parsable", "--hold", f"--account={acct}",
                f"--time={limit}", f"--nodes={nodes}", "--output=/dev/null",
                "--chdir=/tmp", f"--job-name={acct}-{user}"]
        if with_uid:
            argv += [f"--uid={user}"]
        if nodes > 1:
            argv += [f"--ntasks-per-node={cpus // nodes}"]
        else:
            argv += [f"--ntasks={cpus}"]
        if mem is not None:
            argv += [f"--mem={mem}"]
        argv += [f"--wrap=sleep {secs}"]
        ids.append(int(cluster.run(argv).stdout.strip().split(";")[0]))
    log(f"submitted {len(ids)} held jobs: {ids[0]}..{ids[-1]}")
    return ids


def read_events(path):
    events = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                events.append(json.loads(line))
    return events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--program", required=True, help="path of cloudsched-slurm")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--timeout", type=float, default=150, help="seconds for the workload")
    args = ap.parse_args()

    if os.geteuid() != 0:
        skip("the Slurm end-to-end test needs root (slurmd switches to the jobs' users)")
    missing = [p for p in ["munged", "slurmctld", "slurmd", "sbatch", "scontrol",
                           "squeue", "sinfo", "scancel"] if shutil.which(p) is None]
    if missing:
        skip("Slurm is not installed (missing " + ", ".join(missing) +
             "); run .ci/slurm-deps or apt-get install slurm-wlm munge libslurm-dev")
    if not os.access(args.program, os.X_OK):
        skip(f"{args.program} was not built (libslurm-dev missing when meson ran?)")
    for user in ("nobody", "daemon"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            skip(f"no user '{user}' on this system")

    root = tempfile.mkdtemp(prefix="cs-slurm-")
    cluster = Cluster(root)
    prog = None
    ok = False

    def interrupted(signum, frame):
        raise Failed(f"interrupted by signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        cluster.setup()
        cluster.start_munge()

        # 1. No slurmctld yet: a clear error and exit status 2.
        r = subprocess.run([args.program, "--once"], env=cluster.env, capture_output=True,
                           text=True, timeout=90)
        log(f"--once without slurmctld: exit {r.returncode}: {r.stderr.strip().splitlines()[:1]}")
        check(r.returncode == 2, f"expected exit 2 without slurmctld, got {r.returncode}")
        check("slurmctld" in r.stderr and "Unable to contact" in r.stderr,
              "the error should name slurmctld and the reason: " + r.stderr)

        cluster.start_slurm()
        ids = submit_workload(cluster)

        # 2. Run the integration: fair share between accounts, EASY
        # backfilling on predicted runtimes, best fit, invariant checks.
        events_path = cluster.path("events.jsonl")
        prog_err = open(cluster.path("log", "cloudsched-slurm.err"), "w")
        argv = [args.program, "--policy", "fairshare", "--placement", "best-fit",
                "--backfill", "1", "--predict", "--poll", "0.5", "--pin-timeout", "30",
                "--weight", "physics=2", "--events", events_path, "--check",
                "--duration", str(args.timeout + 30)]
        log("running " + " ".join(argv))
        prog = subprocess.Popen(argv, env=cluster.env, stdout=prog_err,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        prog_err.close()
        t0 = time.time()

        # Slurm changes underneath: cancel a pending job, drain a node.
        victim = ids[CANCEL_INDEX]
        wait_for(lambda: os.path.exists(events_path) and any(
            e["event"] == "start" for e in read_events(events_path)), 30, "a first decision")
        cluster.run(["scancel", str(victim)])
        log(f"cancelled job {victim}")
        time.sleep(1.5)
        cluster.run(["scontrol", "update", "nodename=n4", "state=drain", "reason=e2e-test"])
        drained_at = time.time()
        log("drained n4")
        # Node n3 fails for a few seconds: Slurm kills and requeues what ran
        # there; the program must mark it down, re-decide those jobs and use
        # n3 again once it is back.
        time.sleep(1.0)
        on_n3 = cluster.run(["squeue", "-h", "-w", "n3", "-o", "%i"]).stdout.split()
        cluster.run(["scontrol", "update", "nodename=n3", "state=down", "reason=e2e-test"])
        down_at = time.time()
        log(f"took n3 down (running there: {on_n3 or 'nothing'})")
        time.sleep(4.0)
        # With ReturnToService=2 the node may already be back (its slurmd
        # registered again); otherwise resume it.
        def n3_up():
            state = cluster.run(["sinfo", "-h", "-n", "n3", "-o", "%t"]).stdout.strip()
            if state.startswith("down"):
                cluster.run(["scontrol", "update", "nodename=n3", "state=resume"],
                            check_rc=False)
                return False
            return True
        wait_for(n3_up, 30, "n3 to come back", step=0.5)
        up_at = time.time()
        log("n3 back up")

        def all_done():
            return not cluster.run(["squeue", "-h", "-o", "%i"]).stdout.strip()
        wait_for(all_done, args.timeout - (time.time() - t0), "every job to finish", step=1)
        log(f"all jobs finished after {time.time() - t0:.1f}s")
        time.sleep(1.5)  # one more cycle sees the last completions
        prog.terminate()
        rc = prog.wait(timeout=30)
        check(rc == 0, f"cloudsched-slurm exited {rc}")

        # 3. Checks against Slurm's own record.
        with open(cluster.path("log", "cloudsched-slurm.err")) as f:
            prog_log = f.read()
        check("invariant check failed" not in prog_log, "library invariant failed:\n" + prog_log)
        events = read_events(events_path)
        starts = {}
        for e in events:
            if e["event"] == "start":
                starts[e["job"]] = e  # the last decision for a job counts
        revoked = [e for e in events if e["event"] == "revoke"]
        jobs = show_jobs(cluster)
        order = []
        for i, jid in enumerate(ids):
            j = jobs.get(jid)
            check(j is not None, f"job {jid} unknown to slurmctld")
            state = j["JobState"]
            if jid == victim:
                check(state == "CANCELLED", f"cancelled job {jid} is {state}")
                continue
            check(state == "COMPLETED" and j.get("ExitCode") == "0:0",
                  f"job {jid} ended {state} (exit {j.get('ExitCode')})")
            check(jid in starts, f"job {jid} completed without a library decision")
            want = sorted(starts[jid]["nodes"].split(","))
            got = sorted(hostnames(cluster, j["NodeList"]))
            check(got == want, f"job {jid} ran on {got}, the library chose {want}")
            slurm_start = epoch(j["StartTime"])
            decided = starts[jid]["t"]
            check(slurm_start >= int(decided),
                  f"job {jid} started at {j['StartTime']} before the decision ({decided:.3f})")
            order.append((starts[jid]["seq"], slurm_start, jid))
        order.sort()
        for (s1, t1, j1), (s2, t2, j2) in zip(order, order[1:]):
            check(t1 <= t2, f"job {j2} (decision {s2}) started at {t2:.0f}, before job {j1} "
                            f"(decision {s1}) at {t1:.0f}")
        # Nothing new on n4 once the program could have seen the drain
        # (its poll is 0.5 s; allow 3 s for a cycle in flight on a busy machine).
        late = [e for e in starts.values()
                if "n4" in e["nodes"].split(",") and e["t"] > drained_at + 3]
        check(not late, f"jobs started on drained n4: {late}")
        check(any(e["event"] == "node" and e.get("node") == "n4" and e.get("state") == "drain"
                  for e in events), "the program never saw n4 drained")
        check(any(e["event"] == "node" and e.get("node") == "n3" and e.get("state") == "down"
                  for e in events), "the program never saw n3 down")
        during = [e for e in events if e["event"] == "start" and "n3" in e["nodes"].split(",")
                  and down_at + 3 < e["t"] < up_at]
        check(not during, f"jobs started on n3 while it was down: {during}")
        gang = ids[9]
        check(len(starts[gang]["nodes"].split(",")) == 2, f"gang job {gang} got one node")
        reordered = [jid for _, _, jid in order] != sorted(jid for _, _, jid in order)
        log(f"{len(order)} jobs completed on the library's nodes in its order "
            f"({'reordered vs submission' if reordered else 'submission order'}), "
            f"{len(revoked)} revoked decisions, victim {victim} cancelled")
        ok = True
    except Failed as exc:
        print(f"FAIL: {exc}", flush=True)
    finally:
        if prog is not None and prog.poll() is None:
            prog.terminate()
            try:
                prog.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prog.kill()
                prog.wait()
        if not ok:
            cluster.tail_logs()
        cluster.stop()
        if ok and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"files kept in {root}")
    print("PASS" if ok else "FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
