"""The ringsight exception tree.

Every error the project raises on purpose derives from :class:`RingsightError`;
the HTTP layer maps each subclass to one status code in one place
(``api/http/errors.py``)::

    RingsightError
     +-- InvalidInput          bad data from a caller; names the field (422)
     +-- Forbidden             a rule of the desk forbids this caller this step (403)
     +-- NotFound              an id that does not exist (404)
     +-- Conflict              a write that contradicts stored state (409)
     +-- StoreUnavailable      the graph store cannot be reached in time (503)
     +-- ModelError            a missing or unreadable model / config file (500)
"""

from __future__ import annotations


class RingsightError(Exception):
    """Base class of every error ringsight raises deliberately."""


class InvalidInput(RingsightError):
    """Input that cannot be accepted. ``field`` is the dotted path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Forbidden(RingsightError):
    """A step the caller's key may not take, named by the ``rule`` that forbids it
    (e.g. four eyes: the key that recommended a step cannot decide it)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


class NotFound(RingsightError):
    """A node, ring, alert or run that does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class Conflict(RingsightError):
    """A write that contradicts what is stored (e.g. an application id reused for
    another applicant)."""


class StoreUnavailable(RingsightError):
    """The graph store did not answer within its timeout or refused connections."""


class ModelError(RingsightError):
    """A scoring model or configuration file is missing or malformed."""
