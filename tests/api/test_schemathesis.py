"""Schemathesis over every route of a real server, with all checks: every answer
documented, every schema-violating request refused, every schema-valid one accepted
(``schemathesis.toml`` beside this file says where a 422 is a fair answer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.conftest import ADMIN, Server

HERE = Path(__file__).parent
SEED = 20261201
MAX_EXAMPLES = 20


def test_schemathesis_finds_nothing_on_any_route(live_server: Server, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    done = subprocess.run(
        [
            Path(sys.executable).parent / "schemathesis",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{live_server.url}/openapi.json",
            "--checks",
            "all",
            "--header",
            f"X-API-Key: {ADMIN['X-API-Key']}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert report.exists(), done.stdout[-4000:] + done.stderr[-2000:]
    result = json.loads(report.read_text())
    found = {(f["code"], op): f["title"] for f in result["failures"] for op in f["operations"]}
    print(
        f"schemathesis: {result['operations']['tested']} operations, {result['test_cases']['generated']} cases, "
        f"{len(found)} failures ({sorted(found)}), {len(result['errors'])} errors"
    )
    documented = httpx.get(f"{live_server.url}/openapi.json", timeout=10).json()["paths"]
    operations = sum(1 for methods in documented.values() for method in methods if method != "parameters")
    assert result["operations"]["tested"] == result["operations"]["total"] == operations
    assert result["errors"] == [], done.stdout[-6000:]
    assert not found, done.stdout[-12000:]
