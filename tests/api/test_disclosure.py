"""A scorer key gets codes, sentences, strengths and counts; other people's node ids, ring
members and paths are only in an investigator's answer (the lookup oracle is closed)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.api.casework import INVESTIGATOR, SCORER, application

NODE = re.compile(r'"((?:applicant|application|device|phone|email|employer|address|ip|bank_account):[^"]+)"')


def test_a_scorer_sees_counts_where_an_investigator_sees_who(case_client: TestClient, chain: list[str]) -> None:
    first = chain[0]  # confirmed fraud, sharing a device with the second
    body = application(9, "10", "dfp-shared", "+86 138 0000 0022")
    as_scorer = case_client.post("/v1/score", json=body, headers=SCORER).json()
    as_investigator = case_client.post("/v1/score", json=body, headers=INVESTIGATOR).json()
    assert [r["code"] for r in as_scorer["reasons"]] == [r["code"] for r in as_investigator["reasons"]]
    assert [r["sentence"] for r in as_scorer["reasons"]] == [r["sentence"] for r in as_investigator["reasons"]]
    assert [r["strength"] for r in as_scorer["reasons"]] == [r["strength"] for r in as_investigator["reasons"]]
    full = json.dumps([r["evidence"] for r in as_investigator["reasons"]])
    shown = json.dumps([r["evidence"] for r in as_scorer["reasons"]])
    assert first in full, "an investigator sees the confirmed-fraud applicant"
    own = {as_scorer["applicant_id"], f"application:{body['application_id']}"}
    assert set(NODE.findall(shown)) <= own, "a scorer sees no one else's node id"
    # Each list of other people's node ids became how many it held, under the same key.
    lists = [
        (i, key, len(value))
        for i, reason in enumerate(as_investigator["reasons"])
        for key, value in reason["evidence"].items()
        if isinstance(value, list) and value and all(isinstance(v, str) and NODE.fullmatch(f'"{v}"') for v in value)
    ]
    assert lists, "the investigator's evidence names people (the ring, the confirmed fraud)"
    for i, key, n in lists:
        assert as_scorer["reasons"][i]["evidence"][key] == n, (key, "the names became a count")
