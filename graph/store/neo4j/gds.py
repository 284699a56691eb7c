"""Whole-graph work on Neo4j in GDS: WCC, node similarity with degree, and Louvain,
each on a Cypher-aggregation projection that is dropped afterwards, also on errors.

Same rules and same answers as the in-process versions
(:mod:`graph.store.in_process`); the parity suite holds them to it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import neo4j

from graph.store.neo4j.outage import Outage
from graph.store.neo4j.queries import by_kind, each_kind, identifier_lookup
from graph.store.records import LinkedComponent, LookAlike, components_of, ranked_look_alikes
from graph.vocabulary import KIND_OF_LABEL, LABEL_OF_KIND

log = logging.getLogger(__name__)

SPECIFIC_IDENTIFIERS = each_kind(
    "UNWIND CASE WHEN '{kind}' IN $kinds THEN [1] ELSE [] END AS wanted "
    "MATCH (i:{label}) WHERE COUNT {{ (i)<-[:{rel}]-() }} >= 2 "
    "AND NOT i.key IN coalesce($exclude.{kind}, []) RETURN i"
)

Q_PROJECT_LINKS = f"""
CALL () {{
{SPECIFIC_IDENTIFIERS}
}}
CALL (i) {{ MATCH (i)<-[r]-() RETURN collect(DISTINCT r.applicant) AS people }}
WITH i, people WHERE size(people) >= 2 AND size(people) <= $max_applicants
UNWIND people AS key
MATCH (a:Applicant {{key: key}}) USING INDEX a:Applicant(key)
RETURN gds.graph.project($graph_name, a, i, {{}}, {{undirectedRelationshipTypes: ['*']}})
"""

# The same selection, directed applicant -> identifier: node similarity compares the
# applicants by their identifier sets and degree counts each applicant's identifiers.
Q_PROJECT_APPLICANT_LINKS = Q_PROJECT_LINKS.replace("{undirectedRelationshipTypes: ['*']}", "{}")
assert Q_PROJECT_APPLICANT_LINKS != Q_PROJECT_LINKS

Q_SIMILAR = """
CALL gds.nodeSimilarity.stream($graph_name, {similarityCutoff: $min_similarity, degreeCutoff: $min_shared,
                                             topK: $top_k, concurrency: 1})
YIELD node1, node2, similarity
WITH node1, node2, similarity WHERE node1 < node2
RETURN gds.util.asNode(node1).key AS first_node, gds.util.asNode(node2).key AS second_node, similarity
"""

Q_DEGREE = """
CALL gds.degree.stream($graph_name) YIELD nodeId, score
WITH gds.util.asNode(nodeId) AS n, score WHERE n:Applicant AND score > 0
RETURN n.key AS key, toInteger(score) AS degree
"""

Q_WCC = """
CALL gds.wcc.stream($graph_name) YIELD nodeId, componentId
WITH componentId, gds.util.asNode(nodeId) AS n
RETURN componentId AS component, [l IN labels(n) WHERE l <> 'Applicant'][0] AS label, n.key AS key
"""

Q_PROJECT_SHARED = f"""
CALL () {{
{identifier_lookup("ids")}
}}
CALL (i) {{
  MATCH (i)<-[r]-() WHERE r.applicant IN $members
  RETURN collect(DISTINCT r.applicant) AS people
}}
WITH people WHERE size(people) >= 2 AND size(people) <= $max_applicants
UNWIND people AS x
UNWIND people AS y
WITH x, y WHERE x < y
WITH x, y, count(*) AS shared
MATCH (a:Applicant {{key: x}}), (b:Applicant {{key: y}})
USING INDEX a:Applicant(key) USING INDEX b:Applicant(key)
RETURN gds.graph.project($graph_name, a, b, {{relationshipProperties: {{weight: toFloat(shared)}}}},
                         {{undirectedRelationshipTypes: ['*']}})
"""

Q_LOUVAIN = """
CALL gds.louvain.stream($graph_name, {relationshipWeightProperty: 'weight', concurrency: 1})
YIELD nodeId, communityId
RETURN communityId AS community, gds.util.asNode(nodeId).key AS key
"""

Q_SHARED_USERS = f"""
CALL () {{
{identifier_lookup("ids")}
}}
MATCH (i)<-[r]-() WHERE r.applicant IN $members
RETURN kind + ':' + i.key AS id, collect(DISTINCT r.applicant) AS people
"""


class GdsWork:
    """The GDS client on a store's driver, created on first use."""

    def __init__(self, driver: neo4j.Driver, database: str, ping: Callable[[], None]) -> None:
        self._driver = driver
        self._database = database
        self._ping = ping
        self._gds: Any = None
        self._gds_lock = threading.Lock()

    def use_driver(self, driver: neo4j.Driver) -> None:
        """Work through ``driver`` from now on (the store renewed its driver); the client
        on the old one is built again on first use."""
        with self._gds_lock:
            self._driver = driver
            self._gds = None

    def _graph_data_science(self) -> Any:
        """The GDS client on this store's driver, created on first use (bounded connectivity
        retries, Bolt only: the Arrow endpoint is optional and not assumed)."""
        with self._gds_lock:
            if self._gds is None:
                self._gds = self._connect_gds()
        return self._gds

    def _connect_gds(self) -> Any:
        from graphdatascience import GraphDataScience
        from graphdatascience.query_runner.neo4j_query_runner import Neo4jQueryRunner

        class BoundedQueryRunner(Neo4jQueryRunner):
            # The client waits up to ten minutes for a lost server before each query;
            # a store answers or reports itself unavailable within its timeout.
            def _verify_connectivity(self, database: str | None, retry_config: Any) -> None:
                bounded = Neo4jQueryRunner.ConnectivityRetriesConfig(max_retries=3, wait_time=1)
                super()._verify_connectivity(database, bounded)

        self._ping()
        with Outage("connecting GDS"):
            runner = BoundedQueryRunner(self._driver, "bolt", database=self._database, show_progress=False)
            return GraphDataScience(runner, arrow=False, show_progress=False)

    def _project(self, gds: Any, query: str, graph_name: str, **params: Any) -> bool:
        """Run a Cypher-aggregation projection; False when it selected nothing."""
        result = gds.run_cypher(query, {"graph_name": graph_name, **params})
        if result.empty or result.iloc[0, 0] is None:
            return False
        return int(result.iloc[0, 0]["nodeCount"]) > 0

    @staticmethod
    def _drop(gds: Any, graph_name: str) -> None:
        try:
            gds.graph.drop(graph_name, failIfMissing=False)
        except Exception as exc:  # never mask the error that brought us here
            log.warning("could not drop GDS graph %s: %s", graph_name, exc)

    @contextmanager
    def _projection(self, what: str, query: str, **params: Any) -> Iterator[tuple[Any, str] | None]:
        """``(gds, graph name)`` of a Cypher-aggregation projection for the block, or None
        when it selected nothing; the projection is dropped afterwards, also on errors."""
        graph_name = f"ringsight-{what.replace('_', '-')}-{uuid.uuid4().hex}"
        with Outage(what):
            gds = self._graph_data_science()
            try:
                yield (gds, graph_name) if self._project(gds, query, graph_name, **params) else None
            finally:
                self._drop(gds, graph_name)

    @staticmethod
    def _link_selection(kinds: Sequence[str], max_applicants: int, exclude: Sequence[str]) -> dict[str, Any]:
        """Parameters of the specific-identifier projections (same rules as the default)."""
        return {
            "kinds": [k for k in kinds if k in LABEL_OF_KIND],
            "exclude": by_kind(exclude),
            "max_applicants": max_applicants,
        }

    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        """GDS WCC over the applicant-identifier projection of specific identifiers
        (same rules and same result as the default implementation)."""
        selection = self._link_selection(kinds, max_identifier_applicants, exclude)
        with self._projection("linked_components", Q_PROJECT_LINKS, **selection) as projected:
            if projected is None:
                return []
            gds, graph_name = projected
            rows = gds.run_cypher(Q_WCC, {"graph_name": graph_name})
        members: dict[int, list[str]] = {}
        shared: dict[int, list[str]] = {}
        for component, label, key in rows.itertuples(index=False):
            if label is None:
                members.setdefault(int(component), []).append(key)
            else:
                shared.setdefault(int(component), []).append(f"{KIND_OF_LABEL[label]}:{key}")
        return components_of(members, shared, min_size)

    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        """GDS node similarity (Jaccard) and degree over the applicant -> specific
        identifier projection (same rules and same result as the default)."""
        selection = self._link_selection(kinds, max_identifier_applicants, exclude)
        with self._projection("look_alikes", Q_PROJECT_APPLICANT_LINKS, **selection) as projected:
            if projected is None:
                return []
            gds, graph_name = projected
            # An applicant can resemble at most everyone it shares an identifier with.
            top_k = max(1, max_identifier_applicants * len(LABEL_OF_KIND))
            pairs = gds.run_cypher(
                Q_SIMILAR,
                {
                    "graph_name": graph_name,
                    "min_similarity": float(min_similarity),
                    "min_shared": int(min_shared),
                    "top_k": top_k,
                },
            )
            counted = gds.run_cypher(Q_DEGREE, {"graph_name": graph_name})
            degree = {str(key): int(n) for key, n in counted.itertuples(index=False)}
        out = []
        for first, second, similarity in pairs.itertuples(index=False):
            a, b = sorted((str(first), str(second)))
            da, db = degree[a], degree[b]
            # Jaccard = shared / (da + db - shared), so the shared count follows from it.
            both = round(similarity * (da + db) / (1 + similarity))
            if both >= min_shared:
                out.append(LookAlike.of(a, b, both, da, db))
        return ranked_look_alikes(out)

    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        """GDS Louvain over the component's applicant projection, weighted by how many
        specific identifiers two applicants share. GDS Louvain takes no random seed; it runs
        single-threaded so that a run is repeatable (``seed`` is accepted for the contract)."""
        members = sorted(set(component.members))
        ids = by_kind(component.identifiers)
        rows = None
        with self._projection(
            "split_communities", Q_PROJECT_SHARED, ids=ids, members=members, max_applicants=max_identifier_applicants
        ) as projected:
            if projected is not None:
                gds, graph_name = projected
                rows = gds.run_cypher(Q_LOUVAIN, {"graph_name": graph_name})
        with Outage("split_communities"):
            found = self._graph_data_science().run_cypher(Q_SHARED_USERS, {"ids": ids, "members": members})
        users = {r["id"]: set(r["people"]) for r in found.to_dict("records")}
        groups: dict[int, set[str]] = {}
        if rows is not None:
            for community, key in rows.itertuples(index=False):
                groups.setdefault(int(community), set()).add(key)
        placed = set().union(*groups.values()) if groups else set()
        communities = list(groups.values()) + [{m} for m in members if m not in placed]
        out = []
        for community in communities:
            own = tuple(sorted(n for n, people in users.items() if len(people & community) >= 2))
            out.append(LinkedComponent(tuple(sorted(community)), own))
        return sorted(out, key=lambda comp: comp.members[0])

    def close(self) -> None:
        if self._gds is not None:
            try:
                self._gds.close()
            except Exception as exc:  # closing must not fail the caller
                log.debug("closing the GDS client: %s", exc)
            self._gds = None
