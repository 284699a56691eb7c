"""Which driver errors mean "the store cannot answer now", and the context that turns
them into :class:`graph.errors.StoreUnavailable`."""

from __future__ import annotations

from neo4j.exceptions import ClientError, ConstraintError, DriverError, Neo4jError

from graph.errors import StoreUnavailable


def _is_unavailable(exc: BaseException) -> bool:
    """Whether a driver error means "the store cannot answer now" (rather than a bug)."""
    if isinstance(exc, DriverError):
        return True
    if isinstance(exc, Neo4jError):
        if isinstance(exc, ClientError):
            code = exc.code or ""
            # Statement, procedure and schema errors are bugs or conflicts, not outages;
            # timeouts, security, unknown database and pool exhaustion are outages.
            return not code.startswith(
                ("Neo.ClientError.Statement", "Neo.ClientError.Procedure", "Neo.ClientError.Schema")
            )
        return True
    return type(exc).__name__ in ("UnableToConnectError", "GdsNotFound")


def refused_by_constraint(exc: BaseException) -> bool:
    """Whether a uniqueness constraint refused the write (also when the driver reports it
    as the failed result of the rolled-back transaction, with the refusal as its cause)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConstraintError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Outage:
    """Context manager turning driver errors into :class:`StoreUnavailable`."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None and _is_unavailable(exc):
            raise StoreUnavailable(f"neo4j: {self.what} failed: {exc}") from exc
