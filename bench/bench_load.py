"""HTTP load test of a real ``ringsight serve`` process with wrk, against its own /healthz ceiling.

    python bench/bench_load.py --applications 20000 --holdout 2000 --duration 3s
    python bench/bench_load.py --applications 1000000 --workdir out/bench-load      # store built once, reused
    python bench/bench_load.py --graph-url bolt://127.0.0.1:7687 --workers 2         # Neo4j

Steps (everything through the CLI and HTTP; no project module is imported):

1. ``ringsight generate --applications N --seed S`` (reused from ``--workdir`` when it is there with the
   same N and seed), split in time order: the last ``--holdout`` K applications become request bodies
   (the nested JSON shape of the flat CSV columns), the rest and ``bad_actors.csv`` are loaded with
   ``ringsight load`` into a SQLite file under the work folder (kept and reused when ``--workdir`` is
   given) or into the Neo4j of ``--graph-url``.
2. ``ringsight serve`` on that store (embedded: on a fresh copy of the loaded file, so the store route's
   writes never reach the reusable store), until ``GET /readyz`` answers 200: that wait is "open
   seconds". The RSS of the server's process tree (VmRSS from /proc, children included) is read after
   a short warm-up, and its peak (VmHWM) at the end.
3. One request per route with the exact body wrk will send must answer 200 (and the store route
   ``stored: true, replayed: false``) before anything is measured. Then wrk runs, for each connection
   count, ``GET /healthz`` (the framework's ceiling on the same server in the same run),
   ``POST /v1/score`` (dry run, bodies cycled through all K held-out applications) and
   ``POST /v1/applications`` (store and score; every request gets a unique ``application_id``:
   held-out id + run tag + wrk run + thread + counter). A Lua ``done()`` prints one machine-readable
   ``WRKRESULT {json}`` line (requests, p50/p99, socket errors, non-2xx count, replays); any non-2xx
   response, socket error or replay is printed and makes the exit status 1.

wrk runs with one thread (``-t1``; ``--wrk-threads 2`` to check): the machine has 2 cores shared by
the server and the load generator, and the Python server saturates its core long before one wrk
thread does (at the /healthz ceiling one wrk thread used ~7% of a core here, and ``-t2`` gave no more
requests/s), so a second wrk thread would only take CPU time from the server it measures. Each row
prints the CPU share of the server's process tree and of wrk over the run, to show which one is the
bound.

What this cannot measure: wrk is closed-loop (a connection sends its next request only after the
answer), so past saturation p99 is queueing in front of a busy server, not the latency a fixed
arrival rate would see (no coordinated-omission correction); load generator and server share the
same 2 cores; the store route re-submits held-out applicants under new ids once it has cycled
through the K bodies (their velocity signals grow), and background re-scoring (monitoring) of a run
can overlap the start of the next (the benchmark waits for the server to go idle between runs, up
to 30 s); with ``--graph-url`` the store route's applications stay in that Neo4j database.
Monitoring (``RINGSIGHT_MONITORING``, on by default) re-scores linked applicants after each stored
application in the server process, so its cost is inside the store route's figures;
``--no-monitoring`` measures store-and-score alone.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "bench-key-0123456789abcdef"
API_KEY = "dev-scorer"
PORTS = range(8100, 8200)
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
ROUTES = ("healthz", "score", "store")
PATHS = {"healthz": "/healthz", "score": "/v1/score", "store": "/v1/applications"}
INT_COLUMNS = {"behaviour.field_edits", "behaviour.paste_events"}
FLOAT_COLUMNS = {
    "device.geo.lat",
    "device.geo.lon",
    "amount",
    "income",
    "behaviour.form_fill_seconds",
    "behaviour.session_seconds",
}


class BenchError(Exception):
    """A set-up step failed; the message says which and why."""


# --------------------------------------------------------------------------- processes


def ringsight() -> str:
    found = BIN / "ringsight"
    if found.exists():
        return str(found)
    which = shutil.which("ringsight")
    if which is None:
        raise BenchError("no ringsight command next to this Python or on PATH (run `make install-dev`)")
    return which


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(empty log)"


def run_step(cmd: list[str], env: dict[str, str], log: Path, what: str) -> float:
    """Run one CLI step with its output in ``log``; stop it on errors and Ctrl-C; return its seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()  # `ringsight load` stops its worker processes on SIGTERM
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    if code != 0:
        raise BenchError(f"{what} failed (exit {code}): {' '.join(cmd)}\n{tail(log)}")
    return time.perf_counter() - started


def tree(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(root: int, field_name: str = "VmRSS") -> float:
    return sum(status_kb(pid, field_name) for pid in tree(root)) / 1024


def cpu_seconds(root: int) -> float:
    ticks = 0
    for pid in tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(root: int, limit: float = 30.0) -> float:
    """Wait until the server is idle (< 10% of a core over 0.5 s), at most ``limit`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(root)
        time.sleep(0.5)
        if cpu_seconds(root) - before < 0.05:
            break
    return time.monotonic() - started


def free_port() -> int:
    ports = list(PORTS)
    random.shuffle(ports)
    for port in ports:
        if port_free(port):
            return port
    raise BenchError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Server:
    """``ringsight serve`` in its own session; stopped with its workers whatever happens."""

    def __init__(self, env: dict[str, str], port: int, workers: int, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        cmd = [ringsight(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        self._out = log.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, limit: float) -> float:
        deadline = time.monotonic() + limit
        last = "no answer"
        with httpx.Client(base_url=self.base, timeout=2) as client:
            while True:
                if self.proc.poll() is not None:
                    raise BenchError(
                        f"the server exited with {self.proc.returncode} before /readyz answered 200; "
                        f"log tail ({self.log}):\n{tail(self.log)}"
                    )
                try:
                    r = client.get("/readyz")
                    if r.status_code == 200:
                        return time.perf_counter() - self.started
                    last = f"{r.status_code} {r.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"/readyz did not answer 200 within {limit:g} s (last: {last}); "
                        f"log tail ({self.log}):\n{tail(self.log)}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # Workers left behind by a killed supervisor share its process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._out.close()


# --------------------------------------------------------------------------- data and store


def body_value(column: str, value: str) -> Any:
    if column in INT_COLUMNS or column in FLOAT_COLUMNS:
        try:
            number = float(value)
        except ValueError:
            return value  # sent as it is: the server says what is wrong with it
        if column in INT_COLUMNS and number.is_integer():
            return int(number)
        return int(number) if number.is_integer() and "." not in value else number
    return value


def nested(header: list[str], row: list[str]) -> dict[str, Any]:
    """A flat CSV row as the nested JSON body (dotted columns; empty cells dropped)."""
    out: dict[str, Any] = {}
    for column, value in zip(header, row, strict=False):
        if not value.strip():
            continue
        node = out
        *parents, leaf = column.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = body_value(column, value)
    return out


def generate(args: argparse.Namespace, work: Path, env: dict[str, str]) -> Path:
    data = work / f"gen-{args.applications}-seed{args.seed}"
    marker = data / "bench-generated.json"
    want = {"applications": args.applications, "seed": args.seed}
    if marker.exists() and json.loads(marker.read_text()) == want and (data / "applications.csv").exists():
        print(f"data: reusing {data}")
        return data
    shutil.rmtree(data, ignore_errors=True)
    partial = data.with_name(data.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        ringsight(),
        "generate",
        "--applications",
        str(args.applications),
        "--seed",
        str(args.seed),
        "--out",
        str(partial),
    ]
    seconds = run_step(cmd, env, work / "generate.log", "ringsight generate")
    partial.rename(data)
    marker.write_text(json.dumps(want))
    print(f"data: generated {args.applications:,} applications (seed {args.seed}) in {seconds:.1f} s into {data}")
    return data


def split(args: argparse.Namespace, data: Path, work: Path) -> tuple[Path, Path]:
    """The loaded part (a data-set folder) and the held-out bodies (``id<TAB>rest of the JSON`` lines)."""
    out = work / f"split-{args.applications}-seed{args.seed}-holdout{args.holdout}"
    marker = out / "bench-split.json"
    if marker.exists():
        return out / "loaded", out / "holdout.tsv"
    shutil.rmtree(out, ignore_errors=True)
    (out / "loaded").mkdir(parents=True)
    source = data / "applications.csv"
    with source.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        at = header.index("submitted_at")
        order = sorted((row[at], i) for i, row in enumerate(reader))
    if args.holdout >= len(order):
        raise BenchError(f"--holdout {args.holdout} leaves nothing to load from {len(order):,} applications")
    held = {i for _, i in order[-args.holdout :]}
    rank = {i: n for n, (_, i) in enumerate(order[-args.holdout :])}
    bodies: list[tuple[int, str]] = []
    with source.open(newline="") as f, (out / "loaded" / "applications.csv").open("w", newline="") as w:
        reader = csv.reader(f)
        writer = csv.writer(w)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i not in held:
                writer.writerow(row)
                continue
            body = nested(header, row)
            app_id = str(body.pop("application_id"))
            if not ID_PATTERN.match(app_id) or len(app_id) > 80:
                raise BenchError(f"held-out application id {app_id!r} cannot take a unique suffix")
            rest = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            bodies.append((rank[i], f"{app_id}\t{rest[1:]}"))
    if (data / "bad_actors.csv").exists():
        shutil.copyfile(data / "bad_actors.csv", out / "loaded" / "bad_actors.csv")
    (out / "holdout.tsv").write_text("".join(line + "\n" for _, line in sorted(bodies)))
    marker.write_text(json.dumps({"loaded": len(order) - args.holdout, "holdout": args.holdout}))
    return out / "loaded", out / "holdout.tsv"


def store_count(env: dict[str, str], work: Path) -> int:
    log = work / "stats.log"
    run_step([ringsight(), "stats"], env, log, "ringsight stats")
    text = log.read_text()
    return int(json.loads(text[text.index("{") :]).get("applications", 0))


def load(args: argparse.Namespace, loaded: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    expected = args.applications - args.holdout
    name = f"{args.applications}-seed{args.seed}-holdout{args.holdout}"
    cmd = [ringsight(), "load", str(loaded), "--rejects", str(work / "rejects.jsonl")]
    if args.graph_url:
        env = {**env, "RINGSIGHT_GRAPH_URL": args.graph_url}
        digest = hashlib.sha1(args.graph_url.encode()).hexdigest()[:10]
        marker = work / f"neo4j-{digest}-{name}.loaded.json"
        count = store_count(env, work)
        if (marker.exists() or args.assume_loaded) and count >= expected:
            print(f"store: reusing {args.graph_url} ({count:,} applications)")
            known = json.loads(marker.read_text()) if marker.exists() else {"applications": count}
            return {"url": args.graph_url, "reused": True, **known}
        seconds = run_step(cmd, env, work / "load.log", "ringsight load")
        url = args.graph_url
    else:
        db = work / f"store-{name}.db"
        marker = db.with_name(db.name + ".loaded.json")
        if marker.exists() and db.exists():
            print(f"store: reusing {db}")
            return {"db": str(db), "reused": True, **json.loads(marker.read_text())}
        for path in sql_files(db):
            path.unlink(missing_ok=True)
        url = f"sqlite:///{db}"
        env = {**env, "RINGSIGHT_GRAPH_URL": url}
        seconds = run_step(cmd, env, work / "load.log", "ringsight load")
        count = store_count(env, work)
        if count != expected:
            raise BenchError(f"{db} holds {count:,} applications after the load, {expected:,} expected")
    summary = [line for line in (work / "load.log").read_text().splitlines() if " rows in " in line]
    info = {"applications": expected, "seconds": round(seconds, 1), "summary": summary[-1] if summary else ""}
    marker.write_text(json.dumps(info))
    print(f"store: loaded {expected:,} applications in {seconds:.1f} s into {url} ({info['summary']})")
    return {"url": url, "reused": False, **({} if args.graph_url else {"db": str(db)}), **info}


def sql_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


# --------------------------------------------------------------------------- wrk

LUA_COMMON = r"""
-- Written by bench/bench_load.py. Counts non-2xx answers and replays per thread; done() prints one
-- machine-readable line for the Python side.
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

non2xx = 0
replayed = 0
first_status = 0
first_body = ""

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_status == 0 then
      first_status = status
      first_body = string.sub(body or "", 1, 300)
    end
  elseif CHECK_REPLAYED and body and string.find(body, '"replayed":true', 1, true) then
    replayed = replayed + 1
  end
end

function done(summary, latency, requests)
  local bad, again, fs, fb = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    again = again + (t:get("replayed") or 0)
    if fs == 0 and (t:get("first_status") or 0) ~= 0 then
      fs = t:get("first_status")
      fb = t:get("first_body") or ""
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKRESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"non2xx":%d,"replayed":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"first_status":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad, again, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, fs))
  io.write("WRKFIRSTBODY " .. string.gsub(fb, "[\r\n]", " ") .. "\n")
end
"""

LUA_BODIES = r"""
wrk.method = "POST"
wrk.path = PATH
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = API_KEY

local ids, rests, prepared = {}, {}, {}
local n, k, stride, count, prefix = 0, 0, 1, 0, ""

function init(args)
  -- args: offset into the bodies, number of wrk threads, id prefix (run tag and wrk run)
  for line in io.lines(BODIES) do
    local tab = string.find(line, "\t", 1, true)
    n = n + 1
    ids[n] = string.sub(line, 1, tab - 1)
    rests[n] = string.sub(line, tab + 1)
  end
  stride = tonumber(args[2])
  k = (tonumber(args[1]) + tid) % n
  prefix = "." .. args[3] .. "." .. tid .. "."
  if not UNIQUE_IDS then
    for i = 1, n do
      prepared[i] = wrk.format(nil, nil, nil, '{"application_id":"' .. ids[i] .. '",' .. rests[i])
    end
  end
end

function request()
  local i = k + 1
  k = (k + stride) % n
  if UNIQUE_IDS then
    count = count + 1
    return wrk.format(nil, nil, nil, '{"application_id":"' .. ids[i] .. prefix .. count .. '",' .. rests[i])
  end
  return prepared[i]
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def write_script(route: str, folder: Path, bodies: Path) -> Path:
    script = folder / f"{route}.lua"
    head = f"CHECK_REPLAYED = {'true' if route == 'store' else 'false'}\n"
    if route == "healthz":
        text = head + 'wrk.method = "GET"\nwrk.path = "/healthz"\n' + LUA_COMMON
    else:
        head += (
            f"PATH = {lua_string(PATHS[route])}\nAPI_KEY = {lua_string(API_KEY)}\n"
            f"BODIES = {lua_string(str(bodies))}\nUNIQUE_IDS = {'true' if route == 'store' else 'false'}\n"
        )
        text = head + LUA_COMMON + LUA_BODIES
    script.write_text(text)
    return script


@dataclass
class Result:
    route: str
    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: dict[str, int]
    replayed: int
    server_cpu: float
    wrk_cpu: float
    first_error: str = ""
    vs_healthz: dict[str, float | None] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.non2xx + sum(self.socket_errors.values()) + self.replayed


def run_wrk(
    args: argparse.Namespace, server: Server, route: str, script: Path, connections: int, wrk_args: list[str]
) -> Result:
    cmd = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{connections}",
        f"-d{args.duration}",
        "--latency",
        f"--timeout={args.timeout}",
        "-s",
        str(script),
        server.base + PATHS[route],
        "--",
        *wrk_args,
    ]
    settle(server.proc.pid)
    cpu0, usage0 = cpu_seconds(server.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds_of(args.duration) + seconds_of(args.timeout) + 120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    usage1, cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_seconds(server.proc.pid)
    line = next((x for x in out.splitlines() if x.startswith("WRKRESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed (exit {proc.returncode}): {' '.join(cmd)}\n{out[-2000:]}")
    r = json.loads(line.split(" ", 1)[1])
    body = next((x.split(" ", 1)[1] for x in out.splitlines() if x.startswith("WRKFIRSTBODY ")), "")
    seconds = r["duration_us"] / 1e6
    wrk_cpu = (usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime) / seconds
    return Result(
        route=route,
        connections=connections,
        requests=r["requests"],
        seconds=round(seconds, 2),
        rps=r["requests"] / seconds,
        p50_ms=r["p50_us"] / 1e3,
        p90_ms=r["p90_us"] / 1e3,
        p99_ms=r["p99_us"] / 1e3,
        max_ms=r["max_us"] / 1e3,
        non2xx=r["non2xx"],
        socket_errors={k: r[k] for k in ("connect", "read", "write", "timeout")},
        replayed=r["replayed"],
        server_cpu=(cpu1 - cpu0) / seconds,
        wrk_cpu=wrk_cpu,
        first_error=f"{r['first_status']} {body.strip()}" if r["first_status"] else "",
    )


def seconds_of(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", duration)
    if not match:
        raise BenchError(f"cannot read the duration {duration!r} (e.g. 10s, 2m)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


# --------------------------------------------------------------------------- checks


def first_body(bodies: Path, app_id_suffix: str = "") -> tuple[str, bytes]:
    with bodies.open() as f:
        app_id, rest = f.readline().rstrip("\n").split("\t", 1)
    app_id += app_id_suffix
    return app_id, ('{"application_id":"' + app_id + '",' + rest).encode()


def verify(server: Server, routes: list[str], bodies: Path, tag: str) -> None:
    """One request per route with the body wrk will send: 200, and the answer wrk's checks expect."""
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for route in routes:
            if route == "healthz":
                r = client.get("/healthz")
                expect(r, route)
                continue
            app_id, content = first_body(bodies, f".{tag}.v.0" if route == "store" else "")
            r = client.post(PATHS[route], content=content, headers=headers)
            data = expect(r, route)
            if data.get("application_id") != app_id or "band" not in data:
                raise BenchError(f"{PATHS[route]} answered 200 without the decision for {app_id}: {r.text[:300]}")
            if route == "score" and data.get("stored") is not False:
                raise BenchError(f"/v1/score stored the application: {r.text[:300]}")
            if route == "store":
                if data.get("stored") is not True or data.get("replayed") is not False:
                    raise BenchError(f"/v1/applications did not store {app_id} as new: {r.text[:300]}")
                again = client.post(PATHS[route], content=content, headers=headers)
                if '"replayed":true' not in expect(again, route, raw=True):
                    raise BenchError(
                        f"a re-sent id is not recognisable as replayed in the raw answer: {again.text[:300]}"
                    )


def expect(r: httpx.Response, route: str, raw: bool = False) -> Any:
    if r.status_code != 200:
        raise BenchError(
            f"{r.request.method} {r.request.url.path} ({route}) answered {r.status_code}, not 200: {r.text[:500]}"
        )
    return r.text if raw else r.json()


def warm_up(server: Server, routes: list[str], bodies: Path, count: int = 100) -> None:
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    lines = bodies.read_text().splitlines()[-count:]  # the other end of the file from where wrk starts
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for i in range(count):
            client.get("/healthz")
            if "score" in routes or "store" in routes:
                app_id, rest = lines[i % len(lines)].split("\t", 1)
                client.post(
                    "/v1/score", content=('{"application_id":"' + app_id + '",' + rest).encode(), headers=headers
                )


# --------------------------------------------------------------------------- report


def ratios(results: list[Result]) -> None:
    ceiling = {r.connections: r for r in results if r.route == "healthz"}
    for r in results:
        base = ceiling.get(r.connections)
        if r.route != "healthz" and base is not None and base.rps > 0 and base.p50_ms > 0:
            r.vs_healthz = {
                "rps": r.rps / base.rps,
                "p50": r.p50_ms / base.p50_ms,
                "p99": r.p99_ms / base.p99_ms if base.p99_ms > 0 else None,
            }


def error_text(r: Result) -> str:
    if not r.errors:
        return "0"
    parts = [f"non-2xx {r.non2xx}"] if r.non2xx else []
    parts += [f"{k} {v}" for k, v in r.socket_errors.items() if v]
    if r.replayed:
        parts.append(f"replayed {r.replayed}")
    return f"{r.errors} ({', '.join(parts)})"


def print_table(results: list[Result]) -> None:
    head = (
        f"{'route':<22} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8} "
        f"{'req/s vs hz':>11} {'p50 vs hz':>9} {'p99 vs hz':>9} {'server cpu':>10} {'wrk cpu':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        v = r.vs_healthz
        rel = " ".join(
            f"{x:>{w - 1}.2f}x" if x is not None else " " * w
            for x, w in ((v.get("rps"), 11), (v.get("p50"), 9), (v.get("p99"), 9))
        )
        errors = "0" if not r.errors else str(r.errors)
        print(
            f"{PATHS[r.route]:<22} {r.connections:>5} {r.rps:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{errors:>8} {rel} {r.server_cpu:>9.0%} {r.wrk_cpu:>6.0%}"
        )
    for r in results:
        if r.errors:
            print(
                f"ERRORS {PATHS[r.route]} at {r.connections} connections: {error_text(r)}"
                + (f"; first non-2xx: {r.first_error}" if r.first_error else "")
            )


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=100_000, help="population to generate")
    parser.add_argument("--holdout", type=int, default=5000, help="latest applications kept out as request bodies")
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument(
        "--assume-loaded",
        action="store_true",
        help="with --graph-url: reuse a server that already holds the loaded applications (e.g. built with "
        "`ringsight load --neo4j-import` and `tools/neo4j_local.py start --import`) instead of loading them",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep generated data and the loaded store here and reuse them (default: a temp dir)",
    )
    parser.add_argument("--graph-url", default=None, help="a Neo4j URL (bolt://, neo4j://) to load into and serve")
    parser.add_argument("--workers", type=int, default=1, help="ringsight serve --workers (Neo4j only above 1)")
    parser.add_argument("--connections", default="1,8,16,32", help="wrk connection counts, comma-separated")
    parser.add_argument("--duration", default="10s", help="wrk duration per run")
    parser.add_argument("--routes", default="healthz,score,store", help="subset of healthz,score,store")
    parser.add_argument("--port", type=int, default=None, help=f"server port ({PORTS.start}-{PORTS.stop - 1})")
    parser.add_argument("--wrk-threads", type=int, default=1, choices=(1, 2), help="wrk -t (see above)")
    parser.add_argument("--timeout", default="10s", help="wrk --timeout: slower answers count as socket errors")
    parser.add_argument("--ready-timeout", type=float, default=900, help="seconds to wait for /readyz")
    parser.add_argument(
        "--no-monitoring",
        action="store_true",
        help="serve with RINGSIGHT_MONITORING=false (no background re-scoring after stores)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the results here as JSON")
    args = parser.parse_args()
    args.routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    if not args.routes or set(args.routes) - set(ROUTES):
        parser.error(f"--routes takes a subset of {','.join(ROUTES)}")
    args.routes = [r for r in ROUTES if r in args.routes]
    try:
        args.connections = [int(c) for c in args.connections.split(",")]
    except ValueError:
        parser.error("--connections takes comma-separated integers")
    if min(args.connections) < args.wrk_threads:
        parser.error("wrk needs at least as many connections as threads")
    if not 0 < args.holdout < args.applications:
        parser.error("--holdout must be between 1 and --applications - 1")
    if args.graph_url and not re.match(r"^(bolt|neo4j)(\+s|\+ssc)?://", args.graph_url):
        parser.error("--graph-url takes a Neo4j URL (bolt://... or neo4j://...); the embedded store is the default")
    if args.workers > 1 and not args.graph_url:
        parser.error("--workers above 1 needs --graph-url: one process owns an embedded store file")
    if args.port is not None and args.port not in PORTS:
        parser.error(f"--port must be within {PORTS.start}-{PORTS.stop - 1}")
    try:
        seconds_of(args.duration)
        seconds_of(args.timeout)
    except BenchError as exc:
        parser.error(str(exc))
    return args


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: `make bench-tools` installs Debian's wrk")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    temp = None if args.workdir else Path(tempfile.mkdtemp(prefix="bench-load-"))
    lua = Path(tempfile.mkdtemp(prefix="bench-load-lua-"))  # wrk scripts, per run
    work = (args.workdir or temp or Path(".")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RINGSIGHT_PII_KEY": KEY,
        "RINGSIGHT_API_KEYS": json.dumps({API_KEY: "scorer"}),
        "RINGSIGHT_ENVIRONMENT": "development",
    }
    env.pop("RINGSIGHT_GRAPH_URL", None)
    if args.no_monitoring:
        env["RINGSIGHT_MONITORING"] = "false"
    monitoring = env.get("RINGSIGHT_MONITORING", "true").strip().lower() not in ("false", "0", "no", "off")
    tag = "b" + format(int(time.time() * 1000), "x")  # ids from this run never meet ids of another run
    served: Path | None = None
    server: Server | None = None
    try:
        data = generate(args, work, env)
        loaded, bodies = split(args, data, work)
        store = load(args, loaded, work, env)
        if args.graph_url:
            url = args.graph_url
        else:
            served = work / f"serve-{tag}.db"
            started = time.perf_counter()
            for source, target in zip(sql_files(Path(store["db"])), sql_files(served), strict=True):
                if source.exists():
                    shutil.copyfile(source, target)
            # The saved index beside the database is part of the store: without it the server
            # would rebuild it from SQLite instead of opening it.
            index = Path(str(store["db"]) + ".index")
            if index.is_dir():
                shutil.copytree(index, Path(str(served) + ".index"))
            print(f"store: serving a copy {served} (copied in {time.perf_counter() - started:.1f} s, not timed)")
            url = f"sqlite:///{served}"
        port = args.port or free_port()
        if not port_free(port):
            raise BenchError(f"port {port} is in use")
        server = Server({**env, "RINGSIGHT_GRAPH_URL": url}, port, args.workers, work / "serve.log")
        open_seconds = server.wait_ready(args.ready_timeout)
        print(f"server: {server.base} ready in {open_seconds:.1f} s (workers {args.workers})")
        verify(server, args.routes, bodies, tag)
        warm_up(server, args.routes, bodies)
        rss_warm = rss_mb(server.proc.pid)
        print(f"server: RSS after warm-up {rss_warm:,.0f} MB; wrk -t{args.wrk_threads}, {args.duration} per run")

        scripts = {route: write_script(route, lua, bodies) for route in args.routes}
        offsets = dict.fromkeys(args.routes, 0)
        results: list[Result] = []
        for n, connections in enumerate(args.connections):
            for route in args.routes:
                wrk_args = [str(offsets[route]), str(args.wrk_threads), f"{tag}.r{n}"]
                result = run_wrk(args, server, route, scripts[route], connections, wrk_args)
                offsets[route] += result.requests
                results.append(result)
                print(
                    f"  {PATHS[route]:<18} c={connections:<3} {result.rps:>8,.0f} req/s  p50 {result.p50_ms:.2f} ms"
                    f"  p99 {result.p99_ms:.2f} ms  errors {error_text(result)}",
                    flush=True,
                )
        rss_peak = rss_mb(server.proc.pid, "VmHWM")
        ratios(results)
        print()
        store_name = args.graph_url or f"embedded SQLite, {args.applications - args.holdout:,} applications"
        print(
            f"ringsight serve on {store_name}; {args.holdout:,} held-out bodies; workers {args.workers}; "
            f"monitoring {'on' if monitoring else 'off'}; wrk -t{args.wrk_threads}, {args.duration} per run"
        )
        print_table(results)
        print(
            f"open seconds (start to /readyz 200): {open_seconds:.2f} s; RSS after warm-up {rss_warm:,.0f} MB, "
            f"peak (VmHWM, summed over processes) {rss_peak:,.0f} MB"
        )
        failed = any(r.errors for r in results)
        if args.out:
            report = {
                "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "store": store,
                "monitoring": monitoring,
                "open_seconds": open_seconds,
                "rss_mb_after_warm_up": rss_warm,
                "rss_mb_peak": rss_peak,
                "results": [asdict(r) | {"errors": r.errors} for r in results],
                "errors": failed,
            }
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n")
            print(f"results written to {args.out}")
        if failed:
            print("WARNING: some requests failed (see ERRORS above): those rows do not measure successful answers")
            return 1
        return 0
    finally:
        if server is not None:
            server.stop()
        if served is not None:
            for path in [*sql_files(served), Path(str(served) + ".lock")]:
                path.unlink(missing_ok=True)
            shutil.rmtree(Path(str(served) + ".index"), ignore_errors=True)
        shutil.rmtree(lua, ignore_errors=True)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench_load: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench_load: interrupted; the server was stopped", file=sys.stderr)
        sys.exit(130)
