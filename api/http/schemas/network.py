"""The network around a node: the nodes and the links between them, to draw."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from graph.store import GraphEdge, GraphNode


class NetworkNode(BaseModel):
    id: str
    kind: str
    label: str
    props: dict[str, Any]

    @classmethod
    def of(cls, n: GraphNode) -> NetworkNode:
        return cls(id=n.id, kind=n.kind, label=n.label, props=n.props)


class NetworkEdge(BaseModel):
    source: str
    target: str
    type: str = Field(description="Relationship type, e.g. USED_DEVICE")
    ts: float | None

    @classmethod
    def of(cls, e: GraphEdge) -> NetworkEdge:
        return cls(source=e.source, target=e.target, type=e.type, ts=e.ts)


class Network(BaseModel):
    root: str
    depth: int
    truncated: bool = Field(description="The node limit was reached; more lies beyond")
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
