"""What the investigator routes share: error statuses, query bounds and view builders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.http.schemas.applicants import IdentifierView
from api.http.schemas.network import Network, NetworkEdge, NetworkNode
from api.http.schemas.scoring import DecisionView
from api.service.investigation import ApplicationFile
from graph.normalise import Identifier
from graph.store import Subgraph


def identifier_views(identifiers: tuple[Identifier, ...]) -> list[IdentifierView]:
    return [IdentifierView(node_id=i.node_id, kind=i.kind, display=i.display) for i in identifiers]


def decision_views(file: ApplicationFile) -> list[DecisionView]:
    return [DecisionView.of(d) for d in file.decisions]


# Investigator routes may answer 401 (no or unknown key), 403 (a scorer's key) and 503 (store down).
READ = (401, 403, 503)
READ_ONE = (401, 403, 404, 422, 503)


def network_view(graph: Subgraph, node_id: str, depth: int) -> Network:
    return Network(
        root=node_id,
        depth=depth,
        truncated=graph.truncated,
        nodes=[NetworkNode.of(n) for n in graph.nodes],
        edges=[NetworkEdge.of(e) for e in graph.edges],
    )


Depth = Annotated[int, Query(ge=1, le=6, description="Hops from the root")]
Limit = Annotated[int, Query(ge=1, le=2000, description="At most this many nodes")]


WRITE = (401, 403, 404, 413, 422, 503)
