"""``ringsight work --once``: a process of its own drains the monitoring queue the API's
stored applications left in the store (here, queued with no worker running)."""

from __future__ import annotations

import copy

from typer.testing import CliRunner

from api.bootstrap import build_desk
from api.cli.app import app
from api.http.routes.scoring import EXAMPLE
from api.settings import get_settings
from graph.records import ApplicationRecord

runner = CliRunner()


def test_a_worker_process_drains_what_the_api_queued(cli_db: str) -> None:
    desk = build_desk(get_settings())
    try:
        for n, month in ((1, "06"), (2, "08")):
            body = copy.deepcopy(EXAMPLE)
            body.update(application_id=f"APP-W{n}", submitted_at=f"2026-{month}-02T10:00:00Z")
            body["applicant"] = {"national_id": f"33010119900307{n:04d}", "account_created_at": "2025-01-01T00:00:00Z"}
            body["device"] = {"fingerprint": "dfp-shared-home"}
            assert desk.assess(ApplicationRecord.model_validate(body), persist=True, actor="scorer:test").stored
        assert desk.store.pending_work() == 2
    finally:
        desk.store.close()
    done = runner.invoke(app, ["work", "--once"])
    assert done.exit_code == 0, done.output
    desk = build_desk(get_settings())
    try:
        assert desk.store.pending_work() == 0
        rescored = [d for d in desk.store.decisions("APP-W1") if d.trigger == "monitoring"]
        assert len(rescored) == 1, "the second application's item re-scored the first applicant once"
    finally:
        desk.store.close()
