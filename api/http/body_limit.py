"""Request bodies are size-limited before anything reads them: before routing,
authentication and parsing (a pure ASGI middleware, outside every handler).

A body whose ``Content-Length`` exceeds the limit is refused with 413 at once,
without reading a byte of it (and one within it passes untouched: the server
reads no more than the declared length). A body of unknown length (chunked) is
counted as it is read and refused as soon as it passes the limit, so the server never holds
more than the limit plus one chunk. The 413 closes the connection: the rest of
the body is never read. The limit is ``RINGSIGHT_MAX_BODY_BYTES`` (1 MB).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import problem


class BodyTooLarge(Exception):
    """Raised into the application by ``receive`` when the body passes the limit."""


def _content_length(scope: Scope) -> int | None:
    """The declared length, when it is what frames the body (not with a Transfer-Encoding)."""
    declared = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                return None
        elif name == b"transfer-encoding":
            return None
    return declared


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                # The server delivers no more than the declared length: nothing to count.
                await self.app(scope, receive, send)
            return

        received = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    raise BodyTooLarge(f"request body past {self.max_bytes} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # whatever the application answers to the cut body, the answer is the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # The framework may wrap BodyTooLarge in its own error; after a refusal any
            # error is the refusal's.
            if not refused or started:
                raise
        if refused and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "Content too large",
            f"the request body is larger than {self.max_bytes} bytes",
            max_bytes=self.max_bytes,
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
