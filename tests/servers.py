"""The real service as tests run it: ``uvicorn`` serving the app factory in a process
group of its own, waited for until ``/readyz`` answers 200, and stopped with its group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import IO

import httpx

APP = "api.http.app:create_app"


def start(port: int, env: dict[str, str], output: IO[bytes] | int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """A server on ``port`` with ``env`` over this process's environment (not waited for)."""
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", APP, "--factory", "--port", str(port), "--no-access-log"],
        env={**os.environ, **env},
        stdout=output,
        stderr=subprocess.STDOUT if output is not subprocess.DEVNULL else subprocess.DEVNULL,
        start_new_session=True,
    )


def ready(proc: subprocess.Popen[bytes], url: str, within: float) -> bool:
    """Whether the server at ``url`` answered ``/readyz`` with 200 within ``within`` seconds
    (False at once if its process ended)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM to the server's group, SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
