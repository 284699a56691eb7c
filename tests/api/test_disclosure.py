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
    ring = next(r for r in as_scorer["reasons"] if r["code"] == "ring_confirmed_fraud")
    assert ring["evidence"]["confirmed_fraud"] == 1, "the names became a count"
