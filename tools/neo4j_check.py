#!/usr/bin/env python3
"""Smoke-check a Neo4j + GDS server the way ringsight uses it.

    python tools/neo4j_check.py [bolt://127.0.0.1:7687]

Needs the `neo4j` (5.x) and `graphdatascience` (1.x) packages. Connects without auth,
prints gds.version() and the number of gds.* procedures, connects the Python GDS client
(which calls gds.debug.arrow on connect), then builds a tiny two-ring graph, projects it
and runs WCC, Louvain, node similarity and degree through the client. Exits non-zero on
any failure. Only nodes labelled RingsightCheck and the projection it creates are touched.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

import neo4j
from graphdatascience import GraphDataScience

LABEL = "RingsightCheck"
GRAPH_NAME = "ringsight_check"

# Two rings: a1..a3 share device d1 (and a3 also uses phone p1 with a4); a5, a6 share d2.
EDGES = [
    ("a1", "d1"),
    ("a2", "d1"),
    ("a3", "d1"),
    ("a3", "p1"),
    ("a4", "p1"),
    ("a5", "d2"),
    ("a6", "d2"),
]


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)
    print(f"  ok: {what}")


def main(argv: list[str]) -> int:
    default_port = os.environ.get("RINGSIGHT_NEO4J_PORT", "7687")
    url = argv[1] if len(argv) > 1 else f"bolt://127.0.0.1:{default_port}"
    print(f"checking {url}")
    t0 = time.monotonic()

    # 1. Plain driver: versions and procedure inventory.
    with neo4j.GraphDatabase.driver(url, auth=None) as driver:
        driver.verify_connectivity()
        records, _, _ = driver.execute_query(
            "CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition"
        )
        for r in records:
            print(f"neo4j: {r['name']} {r['version']} ({r['edition']})")
        records, _, _ = driver.execute_query("RETURN gds.version() AS v")
        print(f"gds.version(): {records[0]['v']}")
        records, _, _ = driver.execute_query(
            "CALL gds.list() YIELD name, type WHERE name STARTS WITH 'gds.' RETURN type, count(*) AS n ORDER BY type"
        )
        counts = {r["type"]: r["n"] for r in records}
        print(f"gds.list(): {counts.get('procedure', 0)} gds.* procedures, {counts.get('function', 0)} functions")
        _check(counts.get("procedure", 0) > 100, "gds.list() reports more than 100 procedures")

    # 2. Python GDS client (calls gds.version() and gds.debug.arrow on connect).
    gds = GraphDataScience(url, auth=None)
    G = None
    try:
        print(f"GraphDataScience client connected, server version {gds.server_version()}")
        gds.run_cypher(f"MATCH (n:{LABEL}) DETACH DELETE n")
        gds.run_cypher(
            f"UNWIND $edges AS e "
            f"MERGE (a:{LABEL}:Account {{key: e[0]}}) "
            f"MERGE (i:{LABEL}:Identifier {{key: e[1]}}) "
            f"MERGE (a)-[:USES]->(i)",
            params={"edges": [list(e) for e in EDGES]},
        )
        if gds.graph.exists(GRAPH_NAME)["exists"]:
            gds.graph.drop(GRAPH_NAME)
        G, res = gds.graph.project(GRAPH_NAME, ["Account", "Identifier"], {"USES": {"orientation": "UNDIRECTED"}})
        print(f"projected {G.name()}: {res['nodeCount']} nodes, {res['relationshipCount']} relationships")
        _check(int(res["nodeCount"]) == 9, "projection has 9 nodes (6 accounts, 3 identifiers)")

        keys: dict[int, str] = {
            int(r["id"]): str(r["key"])
            for r in gds.run_cypher(f"MATCH (n:{LABEL}) RETURN id(n) AS id, n.key AS key").to_dict("records")
        }

        wcc = gds.wcc.stream(G).to_dict("records")
        comp = {keys[int(r["nodeId"])]: int(r["componentId"]) for r in wcc}
        _check(len(set(comp.values())) == 2, "wcc finds 2 rings")
        _check(comp["a1"] == comp["a4"] != comp["a5"], "wcc links a1..a4 and separates a5")

        louvain = gds.louvain.stream(G).to_dict("records")
        communities = {keys[int(r["nodeId"])]: int(r["communityId"]) for r in louvain}
        _check(len(communities) == 9 and len(set(communities.values())) >= 2, "louvain assigns every node a community")

        sim = gds.nodeSimilarity.stream(G).to_dict("records")
        pairs = {(keys[int(r["node1"])], keys[int(r["node2"])]): float(r["similarity"]) for r in sim}
        _check(pairs.get(("a1", "a2"), 0.0) > 0.99, "nodeSimilarity: a1 and a2 share the same device")
        _check(("a1", "a5") not in pairs, "nodeSimilarity: a1 and a5 share nothing")

        degree = gds.degree.stream(G).to_dict("records")
        deg = {keys[int(r["nodeId"])]: float(r["score"]) for r in degree}
        _check(deg["d1"] == 3 and deg["a3"] == 2, "degree: d1 has 3 accounts, a3 has 2 identifiers")

        gds.graph.drop(G)
        G = None
        _check(not gds.graph.exists(GRAPH_NAME)["exists"], "projection dropped")
    finally:
        try:
            if G is not None:
                gds.graph.drop(G, failIfMissing=False)
            gds.run_cypher(f"MATCH (n:{LABEL}) DETACH DELETE n")
        finally:
            gds.close()

    print(f"all checks passed in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception:
        traceback.print_exc()
        print("neo4j_check: FAILED", file=sys.stderr)
        sys.exit(1)
