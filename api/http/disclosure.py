"""What a scoring response may show to whom.

A lender's scoring system (the ``scorer`` role) gets codes, sentences, strengths and
counts. The node ids of other people, ring members and paths through the graph are
investigator material: shown to a scorer they would make ``POST /v1/score`` an unaudited
oracle for who is confirmed fraud and who belongs to which ring. So for a scorer every
node id in the evidence other than the scored application's and applicant's own is
removed, and a list that named any is replaced by how many it held.

>>> for_scorer({"members": ["applicant:a", "applicant:b"], "size": 3, "application": "application:X"},
...            {"application:X"})
{'members': 2, 'size': 3, 'application': 'application:X'}
>>> for_scorer({"identifiers": [{"node_id": "phone:p", "applicants": 2}]}, set())
{'identifiers': [{'applicants': 2}]}
"""

from __future__ import annotations

import re
from typing import Any

from graph.vocabulary import IDENTIFIER_KINDS

_NODE_ID = re.compile(rf"^(applicant|application|{'|'.join(IDENTIFIER_KINDS)}):")
_GONE = object()


def _shown(value: Any, own: set[str]) -> Any:
    """The value as a scorer sees it; ``_GONE`` when it is a node id they may not see."""
    if isinstance(value, str):
        return _GONE if _NODE_ID.match(value) and value not in own else value
    if isinstance(value, list):
        kept = [_shown(v, own) for v in value]
        return (
            len(value)
            if any(
                v is _GONE or (isinstance(v, int) and not isinstance(o, int)) for v, o in zip(kept, value, strict=True)
            )
            else kept
        )
    if isinstance(value, dict):
        return {k: s for k, v in value.items() if (s := _shown(v, own)) is not _GONE}
    return value


def for_scorer(evidence: dict[str, Any], own: set[str]) -> dict[str, Any]:
    """``evidence`` without other people's node ids (see the module docstring)."""
    shown = _shown(evidence, own)
    assert isinstance(shown, dict)
    return shown
