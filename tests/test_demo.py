"""The demo's preparation (``ringsight demo --prepare-only``): the checked-in sample
replayed through the desk, leaving a desk that is live on first open, and idempotent."""

from __future__ import annotations

import csv
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.bootstrap import build_desk
from api.cli.app import app
from api.cli.demo import SAMPLE
from api.service.demo import DEMO_ACTOR, prepare_demo, sample_bad_actors, sample_records
from api.service.desk import FraudDesk
from api.settings import Settings, get_settings
from detectors.rings import RingParams
from graph.errors import Conflict
from graph.loading import load_applications
from graph.vocabulary import CONFIRMED_FRAUD

runner = CliRunner()


@dataclass(frozen=True)
class Prepared:
    url: str
    first: str
    """What the first ``demo --prepare-only`` printed (stderr)."""


def _open(url: str) -> FraudDesk:
    return build_desk(Settings(graph_url=url))


def _newest_audit(desk: FraudDesk) -> int:
    newest = desk.store.audit(limit=1)
    return newest[0].seq if newest else 0


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    """The 5k sample prepared once, by the command, into a SQLite store of the module's own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/data/demo.db"  # data/ does not exist yet
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RINGSIGHT_GRAPH_URL", url)
        get_settings.cache_clear()
        r = runner.invoke(app, ["demo", "--prepare-only"])
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    yield Prepared(url, r.stderr)


@pytest.fixture()
def desk(prepared: Prepared) -> Iterator[FraudDesk]:
    opened = _open(prepared.url)
    yield opened
    opened.store.close()


def test_every_sample_application_is_decided_at_its_submission(desk: FraudDesk) -> None:
    records = sample_records(SAMPLE)
    assert len(records) == 5000
    for record in records:
        decisions = desk.store.decisions(record.application_id)
        assert decisions, record.application_id
        first = decisions[0]
        assert first.trigger == "application"
        assert first.at == record.submitted_at.timestamp()
    bands = {desk.store.decisions(r.application_id)[0].band for r in records}
    assert {"low", "critical"} <= bands


def test_the_bad_actors_are_confirmed_and_alerts_show_masked_people(desk: FraudDesk) -> None:
    nodes = [desk.normaliser.node_for(kind, value) for kind, value in sample_bad_actors(SAMPLE)]
    labels = desk.store.labels(nodes)
    assert set(labels) == set(nodes)
    assert {(lab.status, lab.by) for lab in labels.values()} == {(CONFIRMED_FRAUD, DEMO_ACTOR)}
    alerts = desk.alerts_by(None, 1000)
    assert alerts
    assert any(a.trigger.startswith("label:") for a, _ in alerts)
    raw_ids = {r.applicant.national_id for r in sample_records(SAMPLE)}
    for alert, display in alerts:
        assert display and "*" in display, alert.alert_id
        assert display not in raw_ids and alert.applicant_key not in display
        assert alert.previous_score is not None  # every applicant had a decision before


def test_one_ring_run_and_a_case_on_every_critical_ring(desk: FraudDesk) -> None:
    rings = desk.store.rings()
    assert rings and len({r.run_id for r in rings}) == 1
    critical = [r for r in rings if r.score >= RingParams().critical]
    assert critical
    for ring in critical:
        cases = desk.cases_by(subject=ring.ring_id)
        assert len(cases) == 1
        case = desk.case_file(cases[0].case_id)
        assert (case.status, case.layer, case.source, case.opened_by) == ("open", "analyst", "ring", DEMO_ACTOR)
        frozen = case.evidence["ring"]
        assert frozen["ring_id"] == ring.ring_id and frozen["score"] == ring.score
        assert [m["node_id"] for m in frozen["members"]] == [f"applicant:{m}" for m in ring.members]
        assert all("*" in m["display"] for m in frozen["members"])
    assert not [c for c in desk.cases_by(limit=1000) if c.subject not in {r.ring_id for r in critical}]


def test_the_command_reports_what_it_did_and_how_to_reach_it(prepared: Prepared) -> None:
    out = prepared.first
    assert re.search(r"ringsight: store sqlite:////\S+/data/demo\.db \(new, empty\)", out), out
    assert "warning" not in out
    assert re.search(r"scored 5,000 applications in time order in \d+\.\d s", out), out
    assert re.search(r"ring run run-\S+ in \d+\.\d s", out), out
    for key in ("dev-scorer", "dev-investigator", "dev-senior", "dev-committee", "dev-admin"):
        assert key in out
    assert "http://127.0.0.1:8000/console" in out
    assert prepared.url.startswith("sqlite:////")  # an absolute path, as the command names it
    assert f"RINGSIGHT_GRAPH_URL={prepared.url} ringsight" in out, out


def test_a_second_preparation_adds_nothing(prepared: Prepared) -> None:
    desk = _open(prepared.url)
    try:
        before = (_newest_audit(desk), desk.store.stats(), len(desk.alerts_by(None, 5000)), len(desk.cases_by()))
        report = prepare_demo(desk, SAMPLE)
        after = (_newest_audit(desk), desk.store.stats(), len(desk.alerts_by(None, 5000)), len(desk.cases_by()))
    finally:
        desk.store.close()
    assert report.wrote_nothing and report.already_scored == 5000
    assert report.labels_present == len(sample_bad_actors(SAMPLE)) and report.cases_present == report.critical_rings
    assert after == before
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RINGSIGHT_GRAPH_URL", prepared.url)
        get_settings.cache_clear()
        r = runner.invoke(app, ["demo", "--prepare-only"])
        get_settings.cache_clear()
    assert r.exit_code == 0 and "nothing to add" in r.stderr and "(5,000 applications)" in r.stderr, r.output


def _small_sample(tmp_path: Path, rows: int, bad_actors: bool = True) -> Path:
    """The sample's first ``rows`` applications (and its bad actors), as a data-set folder."""
    folder = tmp_path / f"sample-{rows}"
    folder.mkdir()
    lines = (SAMPLE / "applications.csv").read_text().splitlines(keepends=True)
    (folder / "applications.csv").write_text("".join(lines[: rows + 1]))
    if bad_actors:
        (folder / "bad_actors.csv").write_text((SAMPLE / "bad_actors.csv").read_text())
    return folder


def test_each_application_was_scored_with_the_graph_before_it(tmp_path: Path) -> None:
    """Its decision is its score as of its submission (what came before it), not as of
    the end of the replay: ring members scored then differ from ring members scored now."""
    sample = _small_sample(tmp_path, 1500, bad_actors=False)
    with (SAMPLE / "truth.csv").open(newline="") as fh:
        in_ring = {r["application_id"] for r in csv.DictReader(fh) if r["pattern"].startswith("ring_")}
    desk = _open("memory://")
    try:
        prepare_demo(desk, sample, monitoring=False)
        members = differ = 0
        for record in sample_records(sample):
            app = desk.store.application(record.application_id)
            assert app is not None
            (decision,) = desk.store.decisions(record.application_id)
            assert decision.score == desk.scorer.score(desk.store, app).score, record.application_id
            if record.application_id in in_ring:
                members += 1
                differ += decision.score != desk.scorer.score(desk.store, app, as_of=desk.now()).score
        assert members >= 20 and differ == members, (differ, members)
    finally:
        desk.store.close()


def test_an_interrupted_preparation_resumes_where_it_stopped(tmp_path: Path) -> None:
    desk = _open("memory://")
    try:
        first = prepare_demo(desk, _small_sample(tmp_path, 300), monitoring=False)
        decided = desk.store.decisions("APP-0000300")
        resumed = prepare_demo(desk, _small_sample(tmp_path, 600), monitoring=False)
        assert (first.scored, resumed.already_scored, resumed.scored) == (300, 300, 300)
        assert desk.store.decisions("APP-0000300") == decided
        assert desk.store.stats()["applications"] == 600
    finally:
        desk.store.close()


def test_a_store_of_other_applications_is_refused_untouched(tmp_path: Path) -> None:
    desk = _open("memory://")
    try:
        other = tmp_path / "other.csv"
        other.write_text(
            "application_id,submitted_at,applicant.national_id,phone\n"
            "OTHER-1,2026-11-20T10:00:00Z,110101199003077777,13800138000\n"
        )
        load_applications(desk.store, desk.normaliser, other)
        audit = _newest_audit(desk)
        with pytest.raises(Conflict, match="none of the demo sample"):
            prepare_demo(desk, _small_sample(tmp_path, 50))
        assert desk.store.stats()["applications"] == 1 and _newest_audit(desk) == audit
    finally:
        desk.store.close()


def test_a_bulk_loaded_sample_without_decisions_is_refused(tmp_path: Path) -> None:
    desk = _open("memory://")
    try:
        sample = _small_sample(tmp_path, 50)
        load_applications(desk.store, desk.normaliser, sample)
        with pytest.raises(Conflict, match="50 sample applications stored without a decision"):
            prepare_demo(desk, sample)
        assert not desk.store.decisions("APP-0000001")
    finally:
        desk.store.close()


def test_a_busy_port_fails_before_preparing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "demo.db"
    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        by_option = runner.invoke(app, ["demo", "--port", str(port)])
        monkeypatch.setenv("PORT", str(port))
        by_env = runner.invoke(app, ["demo"])
    get_settings.cache_clear()
    for r in (by_option, by_env):
        assert r.exit_code == 2 and f"127.0.0.1:{port}" in r.stderr and "PORT=" in r.stderr, r.output
    assert not db.exists()
