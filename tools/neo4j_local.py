#!/usr/bin/env python3
"""Build, start and stop a local Neo4j 5.26 + open-source GDS 2.13 server.

The server is the small Java launcher in tools/neo4j-launcher (neo4j-harness plus the
GDS jars from Maven Central), run as a plain JVM with Bolt on 127.0.0.1 and auth
disabled. No Docker and no network access at start time: `build` fetches everything
into the Maven repository (~/.m2) once; later starts are offline.

    python3 tools/neo4j_local.py build
    python3 tools/neo4j_local.py start [--port P] [--data DIR] [--timeout S] [--keep] [--import SET]
    python3 tools/neo4j_local.py status
    python3 tools/neo4j_local.py stop

`start` prints the Bolt URL as the last line of stdout. State lives in `.neo4j/` at
the repository root: neo4j.log (launcher output), neo4j.pid, neo4j.url, data/.
The harness creates a fresh, randomly named database folder under the data directory
on every start and deletes it on a clean stop (Neo4j's own debug.log is in
<data>/<random>/logs/ while it runs), so every start is an empty database; --keep
only skips wiping the data directory (e.g. to inspect what a killed run left).

`start --import SET` first runs `neo4j-admin database import full` (the class is on
the launcher's class path; log in .neo4j/import.log) over an import set written by
`ringsight load ... --neo4j-import SET`, into a scratch home the server then starts
from (a copy), so the database starts with the whole history in it.

Environment:
    RINGSIGHT_NEO4J_PORT       default Bolt port (7687)
    RINGSIGHT_NEO4J_HEAP       JVM max heap (default 2g)
    RINGSIGHT_NEO4J_PAGECACHE_MB  page cache in MiB (default 512)
    RINGSIGHT_NEO4J_JAVA_OPTS  extra JVM options (shell-split)
    RINGSIGHT_MVN_ARGS         extra Maven arguments for `build`, e.g. "-o"

Standard library only; no project imports.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAUNCHER_DIR = REPO_ROOT / "tools" / "neo4j-launcher"
TARGET_DIR = LAUNCHER_DIR / "target"
CLASSES_DIR = TARGET_DIR / "classes"
LIB_DIR = TARGET_DIR / "lib"
BUILD_STAMP = TARGET_DIR / ".ringsight-build-stamp"
MAIN_CLASS = "ringsight.neo4j.Launcher"

STATE_DIR = REPO_ROOT / ".neo4j"
LOG_FILE = STATE_DIR / "neo4j.log"
PID_FILE = STATE_DIR / "neo4j.pid"
URL_FILE = STATE_DIR / "neo4j.url"
LOCK_FILE = STATE_DIR / "neo4j.lock"
DEFAULT_DATA_DIR = STATE_DIR / "data"
IMPORT_HOME = STATE_DIR / "import-home"
IMPORT_LOG = STATE_DIR / "import.log"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
IMPORT_MANIFEST = "import.json"

READY_RE = re.compile(r"^RINGSIGHT_NEO4J_READY (bolt://\S+)\s*$", re.MULTILINE)
DEFAULT_PORT = 7687
DEFAULT_START_TIMEOUT = 180.0
DEFAULT_STOP_TIMEOUT = 60.0

# Flags Neo4j 5.26 and GDS 2.13 expect on Java 17 (cf. Neo4j's default server.jvm.additional).
JVM_FLAGS = [
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.util.stream=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac.main=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
]


class Neo4jLocalError(RuntimeError):
    pass


def _info(msg: str) -> None:
    print(f"[neo4j_local] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tools


def _require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        hint = {
            "java": "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)",
            "mvn": "install Maven 3.8+ (Debian: apt-get install maven)",
        }.get(name, "")
        raise Neo4jLocalError(f"`{name}` not found on PATH; it is needed to {purpose}. {hint}".strip())
    return path


def _java_major(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        raise Neo4jLocalError(f"cannot parse `java -version` output: {out.strip()!r}")
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


# --------------------------------------------------------------------------- build


def _source_fingerprint() -> str:
    h = hashlib.sha256()
    files = [LAUNCHER_DIR / "pom.xml", *sorted((LAUNCHER_DIR / "src").rglob("*"))]
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(LAUNCHER_DIR)).encode())
            h.update(b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def build_is_fresh() -> bool:
    if not (CLASSES_DIR / "ringsight" / "neo4j" / "Launcher.class").is_file():
        return False
    if not LIB_DIR.is_dir() or not any(LIB_DIR.glob("*.jar")):
        return False
    try:
        return BUILD_STAMP.read_text().strip() == _source_fingerprint()
    except OSError:
        return False


def build(force: bool = False) -> None:
    """Compile the launcher and copy its runtime jars to target/lib, if stale."""
    if not force and build_is_fresh():
        _info("launcher build is up to date")
        return
    missing = [t for t in ("java", "mvn") if shutil.which(t) is None]
    if missing:
        raise Neo4jLocalError(
            f"cannot build the Neo4j launcher: {' and '.join('`' + t + '`' for t in missing)} "
            "not found on PATH (need a JDK 17+ and Maven 3.8+; Debian: "
            "apt-get install openjdk-17-jdk-headless maven)"
        )
    major = _java_major(shutil.which("java") or "java")
    if major < 17:
        raise Neo4jLocalError(f"Java {major} found; Neo4j 5.26 needs Java 17 or 21")
    # Old jars must not linger next to new ones on the `target/lib/*` classpath.
    shutil.rmtree(LIB_DIR, ignore_errors=True)
    BUILD_STAMP.unlink(missing_ok=True)
    cmd = ["mvn", "-q", "-B", "-Dstyle.color=never", *shlex.split(os.environ.get("RINGSIGHT_MVN_ARGS", "")), "package"]
    _info(f"building launcher: (cd {LAUNCHER_DIR} && {' '.join(cmd)})")
    t0 = time.monotonic()
    # Maven's output goes to stderr: stdout carries only the Bolt URL (`$(... start)`).
    proc = subprocess.run(cmd, cwd=LAUNCHER_DIR, stdout=sys.stderr)
    if proc.returncode != 0:
        raise Neo4jLocalError(f"Maven build failed (exit {proc.returncode}); see the output above")
    if not any(LIB_DIR.glob("*.jar")):
        raise Neo4jLocalError(f"Maven build produced no jars in {LIB_DIR}")
    BUILD_STAMP.write_text(_source_fingerprint() + "\n")
    _info(f"launcher built in {time.monotonic() - t0:.1f}s ({len(list(LIB_DIR.glob('*.jar')))} jars)")


# --------------------------------------------------------------------------- process state


def _default_port() -> int:
    env = os.environ.get("RINGSIGHT_NEO4J_PORT", "").strip()
    return int(env) if env else DEFAULT_PORT


def _read_pid() -> int | None:
    try:
        return int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_our_process(pid: int) -> bool:
    """Alive, not a zombie, and really our launcher (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        # No /proc (non-Linux): fall back to signal 0.
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and MAIN_CLASS.encode() in cmdline


def _port_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_from_url(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
    """Serialise start/stop from concurrent callers (e.g. parallel test sessions)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _clear_state() -> None:
    PID_FILE.unlink(missing_ok=True)
    URL_FILE.unlink(missing_ok=True)


def _log_tail(lines: int = 40, log_file: Path = LOG_FILE) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no log file)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


# --------------------------------------------------------------------------- start / stop


def start(
    port: int | None = None,
    data_dir: Path | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
    keep: bool = False,
    import_dir: Path | None = None,
) -> str:
    """Start the server (or reuse the running one) and return its Bolt URL.

    With ``import_dir`` (an import set written by ``ringsight load --neo4j-import``)
    the database is first built offline by ``neo4j-admin database import full``
    and the server starts on it; a server already running is refused then.
    """
    with _state_lock():
        port = _default_port() if port is None else port
        if import_dir is None:
            return _start_locked(port, data_dir, timeout, keep)
        pid = _read_pid()
        if pid is not None and _is_our_process(pid):
            raise Neo4jLocalError(f"Neo4j is already running (pid {pid}); stop it before importing into a new database")
        admin_import(import_dir, IMPORT_HOME)
        try:
            return _start_locked(port, data_dir, timeout, keep, copy_from=IMPORT_HOME)
        finally:
            # The server runs on its own copy.
            shutil.rmtree(IMPORT_HOME, ignore_errors=True)


def admin_import(import_dir: Path, home: Path, log_file: Path = IMPORT_LOG) -> float:
    """Run ``neo4j-admin database import full`` (from the launcher's class path) over an
    import set into a fresh Neo4j home; return the seconds it took."""
    manifest_path = import_dir / IMPORT_MANIFEST
    if not import_dir.is_dir():
        raise Neo4jLocalError(f"{import_dir} does not exist")
    if not manifest_path.is_file():
        raise Neo4jLocalError(
            f"{import_dir} is not an import set (no {IMPORT_MANIFEST}); write one with "
            f"`ringsight load <data> --neo4j-import {import_dir}`"
        )
    manifest = json.loads(manifest_path.read_text())
    if not manifest.get("complete"):
        raise Neo4jLocalError(f"{import_dir} is an unfinished import set (its load stopped); write it again")
    arguments = manifest["neo4j_admin"]
    build()
    java = _require_tool("java", "run neo4j-admin")
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    heap = os.environ.get("RINGSIGHT_NEO4J_HEAP", "2g")
    cmd = [java, f"-Xmx{heap}", *JVM_FLAGS, "-cp", f"{CLASSES_DIR}{os.pathsep}{LIB_DIR / '*'}", ADMIN_CLASS, *arguments]
    _info(f"importing {import_dir} with neo4j-admin database import full (log: {log_file})")
    t0 = time.monotonic()
    with open(log_file, "wb") as log:
        # Paths in the manifest are relative to the import set.
        done = subprocess.run(
            cmd,
            cwd=import_dir,
            env={**os.environ, "NEO4J_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = log_file.read_text(errors="replace")
    if done.returncode != 0 or "IMPORT DONE" not in text:
        raise Neo4jLocalError(
            f"neo4j-admin import failed (exit {done.returncode}).\n--- {log_file} (tail) ---\n"
            + "\n".join(text.splitlines()[-30:])
        )
    seconds = time.monotonic() - t0
    summary = " ".join(line.strip() for line in text.splitlines() if re.match(r"\s+\d+ (nodes|relationships)$", line))
    _info(f"imported in {seconds:.1f}s: {summary}")
    return seconds


def launcher_command(
    java: str, port: int, data_dir: Path, copy_from: Path | None = None, heap: str | None = None
) -> list[str]:
    """The JVM command line of a server on ``port`` with its data under ``data_dir``
    (also used by the tests and benchmarks that start private servers)."""
    heap = heap or os.environ.get("RINGSIGHT_NEO4J_HEAP", "2g")
    return [
        java,
        "-Xms256m",
        f"-Xmx{heap}",
        *JVM_FLAGS,
        *shlex.split(os.environ.get("RINGSIGHT_NEO4J_JAVA_OPTS", "")),
        "-cp",
        f"{CLASSES_DIR}{os.pathsep}{LIB_DIR / '*'}",
        MAIN_CLASS,
        "--port",
        str(port),
        "--data",
        str(data_dir),
        "--pagecache-mb",
        os.environ.get("RINGSIGHT_NEO4J_PAGECACHE_MB", "512"),
        *(["--copy-from", str(copy_from)] if copy_from is not None else []),
    ]


def _start_locked(port: int, data_dir: Path | None, timeout: float, keep: bool, copy_from: Path | None = None) -> str:
    (STATE_DIR / ".gitignore").write_text("*\n")

    pid = _read_pid()
    if pid is not None:
        if _is_our_process(pid):
            # Already running from this checkout (possibly still starting): reuse it.
            url = _wait_ready(pid, None, time.monotonic() + timeout)
            if url is None:
                raise Neo4jLocalError(
                    f"launcher pid {pid} is alive but did not answer within {timeout:.0f}s; "
                    f"run `{Path(sys.argv[0]).name} stop` first.\n--- {LOG_FILE} (tail) ---\n{_log_tail()}"
                )
            if _port_from_url(url) != port:
                _info(f"already running on {url} (pid {pid}); ignoring requested port {port}")
            return url
        _clear_state()

    if _port_open(port):
        raise Neo4jLocalError(
            f"port {port} on 127.0.0.1 is already in use by another process; "
            "pick another with --port or RINGSIGHT_NEO4J_PORT"
        )

    build()
    java = _require_tool("java", "run the Neo4j launcher")

    data_dir = (data_dir or DEFAULT_DATA_DIR).resolve()
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    cmd = launcher_command(java, port, data_dir, copy_from)
    t0 = time.monotonic()
    with open(LOG_FILE, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=STATE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own session and process group: survives us, stoppable as a group
            close_fds=True,
        )
    PID_FILE.write_text(f"{proc.pid}\n")
    _info(f"started pid {proc.pid}, waiting up to {timeout:.0f}s for Bolt on 127.0.0.1:{port} (log: {LOG_FILE})")

    url = _wait_ready(proc.pid, proc, t0 + timeout)
    if url is None:
        _terminate_group(proc.pid, grace=15.0)
        proc.wait()
        _clear_state()
        raise Neo4jLocalError(
            f"Neo4j did not become ready within {timeout:.0f}s (stopped it).\n--- {LOG_FILE} (tail) ---\n{_log_tail()}"
        )
    _info(f"ready in {time.monotonic() - t0:.1f}s: {url}")
    return url


def _wait_ready(pid: int, proc: subprocess.Popen[bytes] | None, deadline: float) -> str | None:
    """Wait for the launcher's READY line and an open Bolt port; None on timeout.

    Raises if the process exits first. Records the URL in the state directory.
    """
    while time.monotonic() < deadline:
        code = proc.poll() if proc is not None else (None if _is_our_process(pid) else "unknown")
        if code is not None:
            _clear_state()
            raise Neo4jLocalError(
                f"Neo4j launcher exited with code {code} before it was ready.\n--- {LOG_FILE} (tail) ---\n{_log_tail()}"
            )
        try:
            m = READY_RE.search(LOG_FILE.read_text(errors="replace"))
        except OSError:
            m = None
        if m and _port_open(_port_from_url(m.group(1))):
            URL_FILE.write_text(m.group(1) + "\n")
            return m.group(1)
        time.sleep(0.25)
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # The leader may linger as a zombie until its parent reaps it.
    return _is_our_process(pgid) or _pid_alive_nonzombie_in_group(pgid)


def _pid_alive_nonzombie_in_group(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _terminate_group(pgid: int, grace: float) -> bool:
    """SIGTERM the process group, wait `grace` seconds, then SIGKILL. True if it needed SIGKILL."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return False
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def start_private(
    port: int,
    data_dir: Path,
    log_file: Path,
    copy_from: Path | None = None,
    heap: str | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> subprocess.Popen[bytes]:
    """A server of the caller's own (tests, benchmarks), not recorded in .neo4j/: started,
    waited for (READY line and open port) and returned; stop it with ``stop_private``."""
    java = _require_tool("java", "run the Neo4j launcher")
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            launcher_command(java, port, data_dir, copy_from, heap),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if READY_RE.search(log_file.read_text(errors="replace")) and _port_open(port):
            return proc
        time.sleep(0.2)
    stop_private(proc, grace=15.0)
    raise Neo4jLocalError(
        f"private Neo4j on port {port} did not start.\n--- {log_file} (tail) ---\n" + _log_tail(log_file=log_file)
    )


def stop_private(proc: subprocess.Popen[bytes], grace: float = DEFAULT_STOP_TIMEOUT) -> None:
    """Stop a server from ``start_private`` (SIGTERM, SIGKILL after ``grace`` seconds)."""
    if proc.poll() is None:
        _terminate_group(proc.pid, grace)
    proc.wait()


def stop(timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
    """Stop the launcher started from this checkout. Returns True if one was running."""
    with _state_lock():
        return _stop_locked(timeout)


def _stop_locked(timeout: float) -> bool:
    pid = _read_pid()
    if pid is None:
        _info("not running (no pid file)")
        return False
    if not _is_our_process(pid):
        _info(f"not running (stale pid file for pid {pid})")
        _clear_state()
        return False
    t0 = time.monotonic()
    killed = _terminate_group(pid, grace=timeout)
    _clear_state()
    how = "killed with SIGKILL after timeout" if killed else "stopped"
    _info(f"{how} pid {pid} in {time.monotonic() - t0:.1f}s")
    return True


def status() -> tuple[bool, str]:
    pid = _read_pid()
    if pid is not None and _is_our_process(pid):
        url = URL_FILE.read_text().strip() if URL_FILE.exists() else ""
        if url and _port_open(_port_from_url(url)):
            return True, f"running {url} (pid {pid})"
        return False, f"not running: pid {pid} is alive but not answering (starting or stuck; see {LOG_FILE})"
    return False, "not running"


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_build = sub.add_parser("build", help="build the launcher if target/ is missing or stale")
    p_build.add_argument("--force", action="store_true", help="rebuild even if up to date")

    p_start = sub.add_parser("start", help="start Neo4j (or reuse the running one); prints the Bolt URL")
    p_start.add_argument("--port", type=int, default=None, help="Bolt port (default $RINGSIGHT_NEO4J_PORT or 7687)")
    p_start.add_argument("--data", type=Path, default=None, help=f"data directory (default {DEFAULT_DATA_DIR})")
    p_start.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT, help="seconds to wait for ready")
    p_start.add_argument("--keep", action="store_true", help="do not wipe the data directory first")
    p_start.add_argument(
        "--import",
        dest="import_dir",
        type=Path,
        default=None,
        help="build the database offline from this import set first (ringsight load --neo4j-import)",
    )

    p_stop = sub.add_parser("stop", help="stop the running Neo4j")
    p_stop.add_argument("--timeout", type=float, default=DEFAULT_STOP_TIMEOUT, help="seconds before SIGKILL")

    sub.add_parser("status", help="print whether Neo4j is running, with its URL")

    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(force=args.force)
        elif args.command == "start":
            print(
                start(
                    port=args.port, data_dir=args.data, timeout=args.timeout, keep=args.keep, import_dir=args.import_dir
                ),
                flush=True,
            )
        elif args.command == "stop":
            stop(timeout=args.timeout)
        elif args.command == "status":
            ok, text = status()
            print(text)
            return 0 if ok else 3
    except Neo4jLocalError as e:
        print(f"neo4j_local: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
