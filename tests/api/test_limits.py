"""Request bodies are size-limited before authentication and parsing (RINGSIGHT_MAX_BODY_BYTES):
a declared length over the limit is refused unread, a chunked body as soon as it passes it."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from tests.api.conftest import SCORER, Server

MB = 1024 * 1024


def _problem_413(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 413 and body["max_bytes"] == 1 * MB


def test_the_default_limit_is_one_megabyte() -> None:
    assert Settings(graph_url="memory://").max_body_bytes == MB


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "not-a-key"}, SCORER], ids=["no-key", "bad-key", "scorer"])
def test_a_declared_length_over_the_limit_is_413_before_authentication(
    client: TestClient, headers: dict[str, str]
) -> None:
    body = json.dumps({**EXAMPLE, "product": "x" * (MB + 10)}).encode()
    r = client.post("/v1/applications", content=body, headers={**headers, "content-type": "application/json"})
    _problem_413(r)
    assert client.app.state.desk.store.stats()["applications"] == 0  # type: ignore[attr-defined]


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_a_chunked_body_past_the_limit_is_413_before_authentication(client: TestClient) -> None:
    # A generator has no length: the client sends it chunked, with no Content-Length.
    r = client.post("/v1/applications", content=_chunks(3 * MB), headers={"content-type": "application/json"})
    _problem_413(r)


def test_a_body_under_the_limit_goes_on_to_authentication(client: TestClient) -> None:
    r = client.post("/v1/applications", json={**EXAMPLE, "product": "x" * (MB - 2000)})
    assert r.status_code == 401


def test_the_limit_is_configurable(make_client: Callable[..., TestClient]) -> None:
    small = make_client(max_body_bytes=4096)
    assert small.post("/v1/applications", json=EXAMPLE, headers=SCORER).status_code == 200
    r = small.post("/v1/score", json={**EXAMPLE, "product": "x" * 5000}, headers=SCORER)
    assert r.status_code == 413 and r.json()["max_bytes"] == 4096
    chunked = small.post(
        "/v1/score", content=_chunks(5000, 1000), headers={**SCORER, "content-type": "application/json"}
    )
    assert chunked.status_code == 413


def _response_of(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.5)
        if readable:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def test_a_100_mb_unauthenticated_post_is_refused_unread(live_server: Server) -> None:
    before = live_server.rss_bytes()
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/applications HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b"{" * 65536
        )
        head = _response_of(sock, time.monotonic() + 10)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"application/problem+json" in head
    assert live_server.rss_bytes() - before < 20 * MB


def test_a_100_mb_chunked_unauthenticated_post_is_cut_at_the_limit(live_server: Server) -> None:
    before = live_server.rss_bytes()
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"  # 64 KiB chunks
    sent = 0
    head = b""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/applications HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.setblocking(False)
        deadline = time.monotonic() + 30
        pending = b""
        while sent < 100 * MB and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 0.5)
            if readable:
                break
            if writable:
                pending = pending or chunk
                try:
                    n = sock.send(pending)
                except (BlockingIOError, InterruptedError):
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += n
                pending = pending[n:]
        sock.setblocking(True)
        head = _response_of(sock, time.monotonic() + 10)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    # The server stopped reading soon after the limit: what was sent beyond it sits in socket buffers.
    assert sent < 16 * MB, sent
    assert live_server.rss_bytes() - before < 20 * MB


def test_a_small_declared_length_with_a_chunked_body_is_still_cut(live_server: Server) -> None:
    # Content-Length and Transfer-Encoding together: whatever frames the body, it is counted.
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        try:
            while sent < 4 * MB:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        head = _response_of(sock, time.monotonic() + 10)
    # Refused as malformed (400) by the HTTP parser, or cut at the limit (413): never read to the end.
    assert head.split(b" ", 2)[1] in (b"400", b"413"), head[:200]
