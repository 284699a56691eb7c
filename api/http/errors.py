"""Domain errors to HTTP problems (RFC 9457), in one place: how each error is
answered, and how the answers are documented in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from graph.errors import Conflict, Forbidden, InvalidInput, ModelError, NotFound, RingsightError, StoreUnavailable

STATUS: dict[type[RingsightError], int] = {
    InvalidInput: 422,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StoreUnavailable: 503,
    ModelError: 500,
}


PROBLEM_JSON = "application/problem+json"

_WHEN: dict[int, str] = {
    401: "No X-API-Key header, or an unknown key",
    403: "The key's role may not do this",
    404: "No such resource",
    409: "The request contradicts stored state",
    413: "The request body is larger than RINGSIGHT_MAX_BODY_BYTES",
    422: "Invalid input: `field` and `errors` name every failing field or parameter",
    503: "The store is unavailable (RINGSIGHT_STORE_OUTAGE_POLICY=fail_closed); retry after Retry-After seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "ApiKey", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}},
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problems a route can answer, each a :class:`api.http.schemas.problems.Problem`."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {
            "description": _WHEN[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status in _HEADERS:
            out[status]["headers"] = _HEADERS[status]
    return out


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://ringsight.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_error(error: Any) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        # Its loc is ("body", byte offset): the field is the body, the offset is detail.
        position = error["loc"][-1] if len(error.get("loc", ())) > 1 else None
        reason = (error.get("ctx") or {}).get("error", "invalid JSON")
        return {"field": "body", "message": f"malformed JSON: {reason} at byte {position}"}
    parts = [str(p) for p in error["loc"]]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie") and len(parts) > 1:
        parts = parts[1:]
    return {"field": ".".join(parts) or "body", "message": error["msg"]}


def _allowed_methods(request: Request) -> str | None:
    """Every method the API documents at this path: a 405 names them all (the framework
    names those of the first route with this path only). A literal path (``/v1/rings/runs``)
    is its own resource, not an instance of a template that also matches it."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:
        return ", ".join(sorted(method.upper() for method in paths[path]))
    methods = {
        method.upper()
        for template, operations in paths.items()
        if compile_path(template)[0].match(path)
        for method in operations
    }
    return ", ".join(sorted(methods)) or None


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return problem(
            422, "Invalid input", f"{first['field']}: {first['message']}", field=first["field"], errors=errors
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # The framework could not read the body (bytes that are not UTF-8, say): malformed input.
            message = f"unreadable body ({type(exc.__cause__).__name__})"
            return problem(
                422, "Invalid input", f"body: {message}", field="body", errors=[{"field": "body", "message": message}]
            )
        titles = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
            413: "Content too large",
        }
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        if exc.status_code == 405 and (allowed := _allowed_methods(request)):
            response.headers["Allow"] = allowed
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The server logs the traceback (the exception is re-raised to it); the caller gets a problem.
        return problem(500, "Server error", "the server could not answer this request")

    @app.exception_handler(RingsightError)
    async def _domain(_: Request, exc: RingsightError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput):
            extra = {"field": exc.field, "errors": [{"field": exc.field, "message": exc.message}]}
        elif isinstance(exc, Forbidden):
            extra = {"rule": exc.rule}
        title = {
            422: "Invalid input",
            403: "Forbidden",
            404: "Not found",
            409: "Conflict",
            503: "Store unavailable",
        }.get(status, "Server error")
        return problem(status, title, str(exc), **extra)
