"""``ringsight work``: a process that only drains the monitoring queue, so the API
processes can run with ``RINGSIGHT_MONITORING_WORKER=false`` and keep their interpreter
for the scoring flow. Any number may run against one store (items are claimed)."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console

from api.cli.desk import open_desk

console = Console(stderr=True)


def work(once: bool = typer.Option(False, "--once", help="Drain what is queued now, then exit")) -> None:
    """Drain the monitoring queue (re-score who each stored application links to) until stopped."""
    from api.service.monitoring_worker import MonitoringWorker

    desk = open_desk()
    worker = MonitoringWorker(desk.store, desk.follow_ups())
    console.print(f"ringsight work: draining the monitoring queue as {worker.name}", markup=False)
    try:
        if once:
            worker.drain(timeout=3600.0)
        else:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            stop.wait()
    finally:
        worker.stop()
        desk.store.close()
    console.print("ringsight work: stopped (items not done stay queued)", markup=False)
