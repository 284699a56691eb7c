"""Each detector on hand-made graphs in the fake store: what it must see, and what it
must ignore (hubs, allow-listed identifiers, cleared links, what came later)."""

from __future__ import annotations

import math

import pytest

from detectors import application_behaviour, bad_actor_proximity, shared_identifier_ring
from detectors.score import Scorer
from detectors.signals import DetectorParams, Observation, ScoringContext
from graph.normalise import NormalisedApplication
from graph.store.records import Label
from tests.unit.fakes import DAY, T0, FakeStore, app

PARAMS = DetectorParams()
HOUR = 3600.0


def observe(module: object, store: FakeStore, subject: NormalisedApplication) -> dict[str, Observation]:
    snap = store.snapshot(subject, subject.ts, PARAMS.hub_limit)
    return {o.code: o for o in module.observe(ScoringContext(snap, subject, PARAMS))}  # type: ignore[attr-defined]


def label(store: FakeStore, node: str, status: str) -> None:
    store.set_label(Label(node, status, "analyst", T0, "test"))


# -- shared identifier rings -----------------------------------------------------------------
def test_a_device_shared_by_strangers_makes_a_dense_active_ring() -> None:
    store = FakeStore([app("A1", "aa", T0 - 2 * DAY, "device:d1"), app("B1", "bb", T0 - DAY, "device:d1")])
    seen = observe(shared_identifier_ring, store, app("S1", "ss", T0, "device:d1"))
    assert seen["shared_identifier"].value > 1.0
    assert seen["ring_size"].value == 2
    assert seen["ring_density"].value == 1.0
    assert seen["ring_velocity"].value == 2
    assert seen["ring_size"].evidence["members"] == ["applicant:aa", "applicant:bb"]


def test_the_ring_reaches_two_applicant_hops_over_specific_identifiers() -> None:
    store = FakeStore([app("A1", "aa", T0 - DAY, "device:d1", "phone:p1"), app("C1", "cc", T0 - DAY, "phone:p1")])
    seen = observe(shared_identifier_ring, store, app("S1", "ss", T0, "device:d1"))
    assert seen["ring_size"].value == 2  # aa through the device, cc through aa's phone
    assert seen["ring_density"].value == pytest.approx(2 / 3)


def test_allow_listed_identifiers_and_hubs_make_no_ring() -> None:
    kiosk = [app(f"K{n}", f"k{n:02d}", T0 - n * HOUR, "device:kiosk") for n in range(1, 4)]
    crowd = [app(f"E{n}", f"e{n:02d}", T0 - n * HOUR, "employer:big") for n in range(1, PARAMS.hub_limit + 5)]
    store = FakeStore(kiosk + crowd)
    label(store, "device:kiosk", "allow_listed")
    seen = observe(shared_identifier_ring, store, app("S1", "ss", T0, "device:kiosk", "employer:big"))
    assert seen["ring_size"].value == 0
    # The employer is shared but nearly meaningless: far below one stranger on a device.
    assert 0 < seen["shared_identifier"].value < 0.1
    assert [i["node_id"] for i in seen["shared_identifier"].evidence["identifiers"]] == ["employer:big"]


def test_confirmed_fraud_share_of_the_ring() -> None:
    store = FakeStore([app("A1", "aa", T0 - DAY, "device:d1"), app("B1", "bb", T0 - DAY, "device:d1")])
    label(store, "applicant:aa", "confirmed_fraud")
    seen = observe(shared_identifier_ring, store, app("S1", "ss", T0, "device:d1"))
    assert seen["ring_confirmed_fraud"].value == 0.5
    assert seen["ring_confirmed_fraud"].evidence["confirmed_fraud"] == ["applicant:aa"]


def test_nothing_after_the_scoring_time_is_seen() -> None:
    store = FakeStore([app("A1", "aa", T0 + DAY, "device:d1")])
    seen = observe(shared_identifier_ring, store, app("S1", "ss", T0, "device:d1"))
    assert seen["shared_identifier"].value == 0
    assert seen["ring_size"].value == 0


# -- bad actors ---------------------------------------------------------------------------------
def test_a_flagged_identifier_is_direct_even_when_nobody_used_it_yet() -> None:
    store = FakeStore()
    label(store, "phone:bad", "confirmed_fraud")
    seen = observe(bad_actor_proximity, store, app("S1", "ss", T0, "device:d1", "phone:bad"))
    assert seen["bad_actor_direct"].value == 1.0
    assert seen["bad_actor_direct"].evidence["identifiers"] == ["phone:bad"]


@pytest.mark.parametrize(("chain", "hops", "strength"), [(False, 2, 1.0), (True, 4, 0.5)])
def test_proximity_to_a_confirmed_fraudster_halves_with_each_person_between(
    chain: bool, hops: int, strength: float
) -> None:
    apps = [app("A1", "aa", T0 - DAY, "device:d1", "phone:p1"), app("B1", "bb", T0 - DAY, "phone:p1")]
    store = FakeStore(apps)
    label(store, "applicant:bb" if chain else "applicant:aa", "confirmed_fraud")
    seen = observe(bad_actor_proximity, store, app("S1", "ss", T0, "device:d1"))
    assert seen["bad_actor_proximity"].value == strength
    assert seen["bad_actor_proximity"].evidence["nearest_hops"] == hops
    path = seen["bad_actor_proximity"].evidence["paths"][0]
    assert path[0] == "applicant:ss" and path[-1] == ("applicant:bb" if chain else "applicant:aa")
    assert len(path) == hops + 1


def test_walks_stop_at_cleared_identifiers_and_hubs() -> None:
    hub = [app(f"H{n}", f"h{n:02d}", T0 - DAY, "ip:carrier") for n in range(PARAMS.hub_limit + 1)]
    store = FakeStore([*hub, app("A1", "aa", T0 - DAY, "device:d1")])
    label(store, "applicant:h00", "confirmed_fraud")
    label(store, "applicant:aa", "confirmed_fraud")
    label(store, "device:d1", "cleared")
    seen = observe(bad_actor_proximity, store, app("S1", "ss", T0, "device:d1", "ip:carrier"))
    assert seen["bad_actor_proximity"].value == 0.0
    assert seen["bad_actor_direct"].value == 0.0


def test_the_applicant_itself_confirmed_is_direct() -> None:
    store = FakeStore([app("S0", "ss", T0 - 30 * DAY, "device:d0")])
    label(store, "applicant:ss", "confirmed_fraud")
    seen = observe(bad_actor_proximity, store, app("S1", "ss", T0, "device:d1"))
    assert seen["bad_actor_direct"].value == 1.0
    assert seen["bad_actor_direct"].evidence["applicant_flagged"] is True


# -- behaviour ------------------------------------------------------------------------------------
def test_a_burst_on_a_new_device_is_faster_than_a_kiosk_at_its_usual_pace() -> None:
    burst = [app(f"B{n}", f"b{n:02d}", T0 - n * 600, "device:new") for n in range(1, 6)]
    usual = [app(f"K{n}", f"k{n:03d}", T0 - n * DAY / 5, "device:kiosk") for n in range(1, 150)]
    store = FakeStore(burst + usual)
    fast = observe(application_behaviour, store, app("S1", "ss", T0, "device:new"))["velocity_device"]
    calm = observe(application_behaviour, store, app("S2", "tt", T0, "device:kiosk"))["velocity_device"]
    assert fast.evidence["windows"]["1h"] == 6
    assert fast.value > 2 * calm.value


def test_bot_filling_young_accounts_and_unknown_telemetry() -> None:
    store = FakeStore()
    bot = observe(application_behaviour, store, app("S1", "ss", T0, form_fill_seconds=3.0, account_created_ts=T0 - 600))
    human = observe(
        application_behaviour, store, app("S2", "tt", T0, form_fill_seconds=300.0, account_created_ts=T0 - 400 * DAY)
    )
    unknown = observe(application_behaviour, store, app("S3", "uu", T0))
    assert bot["bot_form_fill"].value > human["bot_form_fill"].value
    assert bot["young_account"].value > human["young_account"].value
    # Unknown telemetry keeps its neutral value (a two-minute fill, a year-old account) and is
    # marked unknown, so the scorer weighs it as nothing (its sentences: tests/unit/test_sentences.py).
    assert not unknown["bot_form_fill"].known and not unknown["young_account"].known
    assert unknown["bot_form_fill"].value == -math.log1p(120.0)
    assert unknown["young_account"].value == -math.log10(24 * 365.0)
    assert bot["bot_form_fill"].known and bot["young_account"].known


def test_a_form_filled_without_edits_with_nothing_else_read_is_higher_on_both_measures() -> None:
    store = FakeStore()
    sheet = observe(
        application_behaviour, store, app("S1", "ss", T0, form_fill_seconds=30.0, field_edits=0, session_seconds=35.0)
    )
    person = observe(
        application_behaviour, store, app("S2", "tt", T0, form_fill_seconds=95.0, field_edits=3, session_seconds=300.0)
    )
    unknown = observe(application_behaviour, store, app("S3", "uu", T0))
    assert sheet["few_field_edits"].value == 0.0 > person["few_field_edits"].value
    assert sheet["short_session"].value == -math.log1p(5.0)
    assert sheet["short_session"].value > person["short_session"].value == -math.log1p(205.0)
    # a session shorter than the form (clocks apart) counts as nothing besides it, not less
    clipped = observe(application_behaviour, store, app("S4", "vv", T0, form_fill_seconds=40.0, session_seconds=30.0))
    assert clipped["short_session"].value == 0.0
    # unknown telemetry keeps the usual honest values (two edits, two minutes besides the form)
    assert not unknown["few_field_edits"].known and not unknown["short_session"].known
    assert unknown["few_field_edits"].value == -math.log1p(2)
    assert unknown["short_session"].value == -math.log1p(120.0)


def test_geo_jumps_and_edits_between_resubmissions() -> None:
    earlier = app("S0", "ss", T0 - HOUR, "employer:one", lat=39.9, lon=116.4, income=5000.0)  # Beijing
    store = FakeStore([earlier])
    now = app("S1", "ss", T0, "employer:two", lat=22.5, lon=114.1, income=9000.0)  # Shenzhen, an hour later
    seen = observe(application_behaviour, store, now)
    assert seen["geo_jump"].evidence["km"] == pytest.approx(1940, rel=0.03)
    assert seen["geo_jump"].value == pytest.approx(seen["geo_jump"].evidence["km"], rel=0.01)
    assert sorted(seen["frequent_edits"].evidence["changes"]) == ["employer S0", "income S0"]


def test_many_identities_on_one_device_this_week() -> None:
    store = FakeStore([app(f"A{n}", f"a{n:02d}", T0 - n * DAY, "device:d1") for n in range(1, 4)])
    seen = observe(application_behaviour, store, app("S1", "ss", T0, "device:d1"))
    assert seen["many_identities_device"].evidence["identities_7d"] == 4
    assert seen["many_identities_device"].value == 3.0


# -- the scorer -------------------------------------------------------------------------------------
def test_a_score_reads_the_store_exactly_once() -> None:
    store = FakeStore([app("A1", "aa", T0 - DAY, "device:d1")])
    label(store, "applicant:aa", "confirmed_fraud")
    store.calls.clear()
    result = Scorer.default().score(store, app("S1", "ss", T0, "device:d1"))
    assert store.calls == ["snapshot"]
    assert {r.code for r in result.reasons} >= {"bad_actor_proximity"}
    clean = Scorer.default().score(FakeStore(), app("S2", "tt", T0, "device:d9"))
    assert result.score > clean.score
