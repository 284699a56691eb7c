"""Waiting for monitoring: labels and stored applications queue the re-scoring of whom
they reach, and the app's worker thread does it off the request thread."""

from __future__ import annotations

from fastapi.testclient import TestClient


def settle(client: TestClient) -> None:
    """Wait until the app's monitoring worker has done what writes queued."""
    assert client.app.state.monitoring.drain(30.0), "monitoring did not drain"  # type: ignore[attr-defined]
