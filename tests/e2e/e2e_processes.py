"""`opprof run --subprocesses`: every Python child (spawn, fork and
forkserver pools, a fork Process, a ProcessPoolExecutor, subprocess of
sys.executable) profiled and merged into the parent's one profile
(fixtures/processes.py).

- the script's stdout, stderr and status are python's, with and without
  --subprocesses, and no file but -o's is left beside it;
- worker() counted in a dozen processes adds up, instruction by
  instruction, to the same calls in one process (`processes.py inline`);
  `per_process` says which process ran what, `processes` is a tree rooted
  at 0 and knows how each ended (exit status, os._exit, SIGTERM);
- os._exit() in a spawned child: its work is in the profile;
- a child still running when the parent writes (--subprocess-wait) is
  listed pending, writes its own file with the run's id, and `merge`
  folds that file in.

Prints one line with the worker calls and instructions of each process.
"""
import collections
import os
import tempfile
import time

FIXTURE = "processes.py"
# the worker calls processes.py makes in each route (its SPAWN, FORK, ...)
ROUTE_CALLS = {"spawn": 4, "fork": 4, "forkserver": 4, "process": 2, "executor": 3,
               "subprocess": 2}


def read_log(path):
    """pid -> (role, ppid, worker calls) from PROCESSES_LOG; the main
    process is role "main" with 0 calls."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            role, pid, ppid = line.split()
            r, pp, n = out.get(int(pid), (role, int(ppid), 0))
            out[int(pid)] = (r, pp, n + (role != "main"))
    return out


def worker_code(t, prof):
    """The merged worker() records: [(calls, {offset: count})]."""
    return [(f["calls"], {i["offset"]: i["count"] for i in f["code"]})
            for f in t.fn(prof, "worker")]


def raw_function(raw, name):
    """worker()'s records in the file as written (v2: names are indices
    into "strings")."""
    s = raw.get("strings", [])
    return [f for f in raw.get("functions", [])
            if s[f["name"]] == name and s[f["file"]].endswith(os.sep + FIXTURE)]


def quads(flat):
    return [tuple(flat[i:i + 4]) for i in range(0, len(flat) - len(flat) % 4, 4)]


def load(t, name, path):
    """t.load(path), or a failed check saying why it could not be read."""
    try:
        return t.load(path)
    except ValueError as e:
        t.check(f"{name}: the profile reads back", False, str(e)[-400:])
        return None


def same_output(t, name, op, py):
    t.check(f"{name}: same stdout as python", op.stdout == py.stdout,
            f"{op.stdout[-600:]!r} != {py.stdout[-600:]!r}")
    err = t.without_tool_notes(op.stderr)
    t.check(f"{name}: same stderr as python, nothing of opprof's", err == py.stderr,
            f"{err[-600:]!r} != {py.stderr[-600:]!r}")
    t.check(f"{name}: same exit status as python ({py.returncode})",
            op.returncode == py.returncode, str(op.returncode))


def only(t, name, d, files):
    left = sorted(os.listdir(d))
    t.check(f"{name}: no file beside the profile", left == sorted(files), str(left))


def supported(t):
    r = t.opprof(["run", "--subprocesses", "-q", "-o", os.devnull, "-c", "pass"])
    return r.returncode == 0, r.stderr.strip()


def run_all(t):
    if t.VALGRIND:
        return
    tmp = tempfile.mkdtemp(prefix="processes-", dir=t.TMP)
    ver = ".".join(map(str, t.PYVER))
    env = lambda log: {"PROCESSES_LOG": os.path.join(tmp, log)}
    py = t.run([t.PYTHON, FIXTURE, "all"], env=env("python.log"), timeout=300)
    t.check("processes: the fixture runs under python (exit 3)",
            py.returncode == 3 and "done" in py.stderr, f"{py.returncode} {py.stderr[-600:]}")

    # the same worker calls in one process: what the merged profile must add up to
    d = tempfile.mkdtemp(dir=tmp)
    inline_out = os.path.join(d, "inline.json")
    r = t.opprof(["run", "-q", "-o", inline_out, FIXTURE, "inline"], timeout=300)
    same_output(t, "processes inline", r, py)
    only(t, "processes inline", d, ["inline.json"])
    p = load(t, "processes inline", inline_out) if os.path.exists(inline_out) else None
    inline = worker_code(t, p) if p else []
    t.check("processes inline: one worker record, 19 calls",
            len(inline) == 1 and inline[0][0] == sum(ROUTE_CALLS.values()),
            str([c for c, _ in inline]))

    # without --subprocesses children are python's: pool workers and the
    # Process leave through os._exit or SIGTERM and write nothing
    d = tempfile.mkdtemp(dir=tmp)
    r = t.opprof(["run", "-q", "-o", os.path.join(d, "plain.json"), FIXTURE, "all"],
                 env=env("plain.log"), timeout=300)
    same_output(t, "processes without --subprocesses", r, py)
    only(t, "processes without --subprocesses", d, ["plain.json"])

    ok, why = supported(t)
    t.check("processes: run --subprocesses is accepted", ok,
            f"{why[-300:]} (the tests of the merged profile did not run)")
    if not ok:
        print(f"e2e processes (Python {ver}): --subprocesses not supported by this build")
        return
    run_merged(t, tmp, ver, py, inline)
    run_os_exit(t, tmp)
    run_pending(t, tmp)


def run_merged(t, tmp, ver, py, inline):
    d = tempfile.mkdtemp(dir=tmp)
    out = os.path.join(d, "all.json")
    log = os.path.join(tmp, "merged.log")
    r = t.opprof(["run", "--subprocesses", "-q", "-o", out, FIXTURE, "all"],
                 env={"PROCESSES_LOG": log}, timeout=600)
    name = "processes --subprocesses"
    same_output(t, name, r, py)
    only(t, name, d, ["all.json"])
    if not os.path.exists(out):
        t.check(f"{name}: profile written", False, r.stderr[-600:])
        return
    raw, prof = t.load_raw(out), load(t, name, out)
    ran = read_log(log)
    main = [pid for pid, (role, _, _) in ran.items() if role == "main"]

    run_id = raw.get("run_id")
    t.check(f"{name}: run_id present", isinstance(run_id, str) and run_id, repr(run_id))
    procs = raw.get("processes", [])
    pids = [p.get("pid") for p in procs]
    at = {pid: i for i, pid in enumerate(pids)}
    t.check(f"{name}: processes[0] is the script's process (parent -1, status 3)",
            procs and procs[0].get("parent") == -1 and procs[0].get("exit_status") == 3
            and [procs[0].get("pid")] == main, f"{procs[:1]} main {main}")
    t.check(f"{name}: one entry per pid", len(at) == len(pids), str(pids))
    bad = []
    for i, p in enumerate(procs[1:], 1):
        j, seen = i, 0
        while j > 0 and seen <= len(procs):
            j = procs[j].get("parent", -2)
            j = j if isinstance(j, int) and -1 <= j < len(procs) else -2
            seen += 1
        if j != 0:
            bad.append((i, p.get("pid"), p.get("parent")))
    t.check(f"{name}: parents form a tree rooted at 0", not bad, str(bad))
    # (multiprocessing's helpers, the forkserver and the resource tracker,
    # end when the script's process does: listed here by argv if pending)
    t.check(f"{name}: no process pending", not any(p.get("pending") for p in procs),
            str([(p.get("pid"), p.get("argv", [])[:3]) for p in procs if p.get("pending")]))
    t.check(f"{name}: every process knows how it ended and when",
            all(p.get("ended") and p.get("start_ns", 0) > 0 and p.get("end_ns", 0) >=
                p.get("start_ns", 0) for p in procs if not p.get("pending")),
            str([(p.get("pid"), p.get("ended"), p.get("start_ns"), p.get("end_ns"))
                 for p in procs][:12]))
    threads = raw.get("threads", [])
    t.check(f"{name}: threads name their process",
            threads and all(0 <= th.get("process", 0) < len(procs) for th in threads) and
            {th.get("process", 0) for th in threads} >= {0}, str(threads[:12]))

    # the processes that ran worker (the fixture's log) are all there, under their parent
    workers = {pid: v for pid, v in ran.items() if v[0] != "main"}
    missing = sorted(pid for pid in workers if pid not in at)
    t.check(f"{name}: every process that ran worker is listed ({len(workers)})",
            workers and not missing, f"missing {missing} of {sorted(workers)}; listed {pids}")
    parent_pid = lambda i: (pids[procs[i]["parent"]] if isinstance(procs[i].get("parent"), int)
                            and 0 <= procs[i]["parent"] < len(procs) else None)
    wrong = [(role, pid, "started by", ppid, "listed under", parent_pid(at[pid]))
             for pid, (role, ppid, _) in workers.items()
             if pid in at and parent_pid(at[pid]) != ppid]
    t.check(f"{name}: each under the process that started it", not wrong, str(wrong))
    t.check(f"{name}: no process that ran worker is pending",
            not any(procs[at[pid]].get("pending") for pid in workers if pid in at),
            str([pid for pid in workers if pid in at and procs[at[pid]].get("pending")]))
    servers = {ppid for role, ppid, _ in workers.values() if role == "forkserver"}
    t.check(f"{name}: the forkserver process is listed", servers and servers <= set(at),
            f"{servers} {pids}")
    by_role = collections.defaultdict(list)
    for pid, (role, _, _) in workers.items():
        if pid in at:
            by_role[role].append(procs[at[pid]])
    ends = {role: [(p.get("ended"), p.get("exit_status")) for p in ps]
            for role, ps in by_role.items()}
    t.check(f"{name}: the fork Process ended through os._exit with status 4",
            ends.get("process") == [("os._exit", 4)], str(ends.get("process")))
    t.check(f"{name}: the subprocess ended with status 6",
            ends.get("subprocess") == [("exit", 6)], str(ends.get("subprocess")))
    t.check(f"{name}: the terminated fork pool's workers ended by SIGTERM",
            ends.get("fork") and all(e == "SIGTERM" for e, _ in ends["fork"]),
            str(ends.get("fork")))

    # worker: one record whose counts are those of the same calls in one process
    merged = worker_code(t, prof) if prof else []
    t.check(f"{name}: worker is one function record", len(merged) == 1,
            str([c for c, _ in merged]))
    if merged and inline:
        (mc, mcounts), (ic, icounts) = merged[0], inline[0]
        diff = [f"@{o} merged={mcounts.get(o)} inline={icounts.get(o)}"
                for o in sorted(set(mcounts) | set(icounts)) if mcounts.get(o) != icounts.get(o)]
        t.check(f"{name}: worker's calls equal the inline run's ({ic})", mc == ic, str(mc))
        t.check(f"{name}: worker's count of every instruction equals the inline run's",
                not diff and icounts, "; ".join(diff[:8]))
    rw = raw_function(raw, "worker")
    if len(rw) != 1:
        return
    f = rw[0]
    per = quads(f.get("per_process", []))
    t.check(f"{name}: per_process of worker: quadruples naming more than one process",
            len(f.get("per_process", [])) % 4 == 0 and len({q[0] for q in per}) > 1, str(per))
    t.check(f"{name}: per_process sums to worker's calls and instructions",
            sum(q[1] for q in per) == f["calls"] and
            sum(q[2] for q in per) == f["instructions"],
            f"{per} calls {f['calls']} instructions {f['instructions']}")
    got = {pids[q[0]]: q[1] for q in per if 0 <= q[0] < len(pids) and q[1]}
    want = {pid: n for pid, (_, _, n) in workers.items()}
    t.check(f"{name}: per_process calls are those each process made", got == want,
            f"profile {got} fixture {want}")
    rows = []
    for q in sorted(per, key=lambda q: (workers.get(pids[q[0]], ("?",))[0], q[0])):
        pid = pids[q[0]] if 0 <= q[0] < len(pids) else None
        rows.append(f"{workers.get(pid, ('?',))[0]} {pid} -> {q[1]} calls, {q[2]} instr")
    print(f"e2e processes (Python {ver}): worker per process: " + "; ".join(rows))


def run_os_exit(t, tmp):
    """os._exit(5) in a child of sys.executable: what it ran is merged."""
    name = "processes --subprocesses, os._exit in a subprocess"
    log = os.path.join(tmp, "osexit.log")
    d = tempfile.mkdtemp(dir=tmp)
    out = os.path.join(d, "osexit.json")
    py = t.run([t.PYTHON, FIXTURE, "osexit"], timeout=120)
    r = t.opprof(["run", "--subprocesses", "-q", "-o", out, FIXTURE, "osexit"],
                 env={"PROCESSES_LOG": log}, timeout=300)
    same_output(t, name, r, py)
    only(t, name, d, ["osexit.json"])
    if not os.path.exists(out):
        return
    raw = t.load_raw(out)
    procs = raw.get("processes", [])
    child = [pid for pid, (role, _, _) in read_log(log).items() if role == "osexit"]
    mine = [p for p in procs if p.get("pid") in child]
    t.check(f"{name}: listed, ended os._exit with status 5",
            len(mine) == 1 and mine[0].get("ended") == "os._exit" and
            mine[0].get("exit_status") == 5, f"{child} {procs}")
    rw = raw_function(raw, "worker")
    per = quads(rw[0].get("per_process", [])) if len(rw) == 1 else []
    idx = [i for i, p in enumerate(procs) if p.get("pid") in child]
    t.check(f"{name}: its 2 worker calls are in the profile",
            len(rw) == 1 and rw[0]["calls"] == 2 and
            [q[1] for q in per if q[0] in idx] == [2],
            str([(f["calls"], f.get("per_process")) for f in rw]))


def run_pending(t, tmp):
    """A child still running when the parent writes: listed pending; its
    own file appears when it ends, with the run's id; merge folds it in."""
    name = "processes --subprocesses, a child still running"
    d = tempfile.mkdtemp(dir=tmp)
    out = os.path.join(d, "pend.json")
    t0 = time.monotonic()
    r = t.opprof(["run", "--subprocesses", "--subprocess-wait", "0.5", "-q", "-o", out,
                  FIXTURE, "pending"], timeout=60)
    took = time.monotonic() - t0
    t.check(f"{name}: the parent does not wait for it (--subprocess-wait 0.5)",
            r.returncode == 0 and took < 2.5, f"{r.returncode} {took:.2f} s {r.stderr[-300:]}")
    try:
        child = int(r.stdout.split()[0])
    except (ValueError, IndexError):
        t.check(f"{name}: the fixture printed the child's pid", False, repr(r.stdout))
        return
    raw = t.load_raw(out) if os.path.exists(out) else {}
    mine = [p for p in raw.get("processes", []) if p.get("pid") == child]
    t.check(f"{name}: listed pending in the parent's profile",
            len(mine) == 1 and mine[0].get("pending") is True, str(raw.get("processes")))
    cpath = os.path.join(d, f"pend.{child}.json")
    end = time.monotonic() + 10
    while not os.path.exists(cpath) and time.monotonic() < end:
        time.sleep(0.1)
    t.check(f"{name}: its own file appears when it ends", os.path.exists(cpath),
            str(os.listdir(d)))
    if not os.path.exists(cpath) or not raw:
        return
    craw = t.load_raw(cpath)
    t.check(f"{name}: its file carries the run's id",
            craw.get("run_id") and craw.get("run_id") == raw.get("run_id"),
            f"{craw.get('run_id')!r} {raw.get('run_id')!r}")
    m = os.path.join(d, "merged.json")
    r = t.opprof(["merge", "-o", m, out, cpath])
    t.check(f"{name}: merge of the two exits 0", r.returncode == 0, r.stderr[-300:])
    mraw = t.load_raw(m) if os.path.exists(m) else {}
    mine = [p for p in mraw.get("processes", []) if p.get("pid") == child]
    t.check(f"{name}: merge folds the child in as a process, no longer pending",
            len(mine) == 1 and not mine[0].get("pending"), str(mraw.get("processes")))
