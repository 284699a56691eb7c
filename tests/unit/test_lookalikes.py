"""Benign look-alikes in the shared-identifier ring detector, on hand-made graphs in
the fake store: a household (a few people at one address sharing one phone or
device) and a store kiosk (one device serving many customers) are not rings, and
the sentences say what was left out and why; a ring that shares a device, a phone
and an address, or a household that grew too big, still is one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from detectors import application_behaviour, bad_actor_proximity, shared_identifier_ring
from detectors.signals import DetectorParams, Observation, ScoringContext
from graph.normalise import NormalisedApplication
from graph.store.records import Label
from tests.unit.fakes import DAY, T0, FakeStore, app

PARAMS = DetectorParams()
HOME = "address:elm12"


def _observe(
    subject: NormalisedApplication, stored: tuple[NormalisedApplication, ...], params: DetectorParams = PARAMS
) -> dict[str, Observation]:
    snap = FakeStore(stored).snapshot(subject, subject.ts, params.hub_limit)
    return {o.code: o for o in shared_identifier_ring.observe(ScoringContext(snap, subject, params))}


def test_a_household_sharing_one_phone_is_not_a_ring() -> None:
    stored = (
        app("A1", "aa", T0 - 90 * DAY, HOME, "phone:fam1", "device:da"),
        app("B1", "bb", T0 - 2 * DAY, HOME, "phone:fam1", "device:db"),
    )
    obs = _observe(app("S1", "ss", T0, HOME, "phone:fam1", "device:ds"), stored)
    assert obs["ring_size"].value == 0.0
    assert obs["ring_velocity"].value == 0.0  # B applied two days ago, but B is family
    assert obs["ring_density"].value == 0.0
    assert obs["ring_size"].evidence["household"] == ["applicant:aa", "applicant:bb"]
    assert obs["ring_size"].sentence == (
        "No other applicant outside its household is linked to this one by specific identifiers. "
        "2 other applicants share only phone fam*** with it, and everyone who gave an address gave the same one: "
        "a household, not counted as a ring."
    )
    assert obs["ring_density"].sentence == (
        "No ring around the applicant: only its household is linked to it by a specific identifier."
    )
    # sharing still counts as sharing, what only the family shares at a quarter
    shared = obs["shared_identifier"]
    assert shared.value > 0
    assert "phone fam*** with 2 other applicants" in shared.sentence
    assert "those only its household shares at 25%" in shared.sentence
    full = _observe(app("S1", "ss", T0, HOME, "phone:fam1", "device:ds"), stored, replace(PARAMS, household_weight=1.0))
    assert shared.value == pytest.approx(full["shared_identifier"].value / 4)


def test_the_same_people_sharing_a_device_a_phone_and_an_address_are_a_ring() -> None:
    stored = (
        app("A1", "aa", T0 - DAY, HOME, "phone:p1", "device:d1"),
        app("B1", "bb", T0 - DAY, HOME, "phone:p1", "device:d1"),
    )
    obs = _observe(app("S1", "ss", T0, HOME, "phone:p1", "device:d1"), stored)
    assert obs["ring_size"].value == 2.0
    assert obs["ring_velocity"].value == 2.0
    assert obs["ring_size"].evidence["household"] == []
    assert "household" not in obs["ring_size"].sentence


def test_a_household_bigger_than_the_cap_is_a_ring() -> None:
    stored = tuple(app(f"A{n}", f"a{n}", T0 - n * DAY, HOME, "phone:fam1") for n in range(1, 5))
    subject = app("S1", "ss", T0, HOME, "phone:fam1")
    assert _observe(subject, stored)["ring_size"].value == 4.0  # five at one address: more than a family
    assert _observe(subject, stored, replace(PARAMS, household_max=5))["ring_size"].value == 0.0


def test_a_phone_shared_with_someone_from_another_address_is_not_a_household() -> None:
    stored = (
        app("A1", "aa", T0 - DAY, HOME, "phone:p1"),
        app("B1", "bb", T0 - DAY, "address:far9", "phone:p1"),
    )
    obs = _observe(app("S1", "ss", T0, HOME, "phone:p1"), stored)
    assert obs["ring_size"].value == 2.0


def test_a_store_kiosk_links_nobody() -> None:
    stored = tuple(
        app(f"K{n}", f"k{n:02d}", T0 - n * DAY, "device:kiosk7", "ip:198.51.100.7", f"phone:own{n}", channel="store")
        for n in range(1, 6)
    )
    subject = app("S1", "ss", T0, "device:kiosk7", "ip:198.51.100.7", "phone:mine", channel="store")
    obs = _observe(subject, stored)
    assert obs["ring_size"].value == 0.0
    assert obs["ring_velocity"].value == 0.0
    assert obs["shared_identifier"].value == 0.0
    assert obs["shared_identifier"].sentence == (
        "Shares no other identifier with other applicants. Not counted: device kio*** with 5 other applicants "
        "and IP address 198*** with 5 other applicants, the lender's own, as the application was made through "
        "the store channel."
    )
    # the same device used from an app is a device farm's signature
    web = replace(subject, channel="app")
    assert _observe(web, stored)["ring_size"].value == 5.0


def test_a_store_kiosk_is_neither_fast_nor_a_path_to_fraud() -> None:
    stored = (
        app("F1", "ff", T0 - 3600, "device:kiosk7", "phone:bad1", channel="store"),
        app("K1", "kk", T0 - 1800, "device:kiosk7", "phone:own1", channel="store"),
    )
    subject = app("S1", "ss", T0, "device:kiosk7", "phone:mine", channel="store")
    store = FakeStore(stored)
    store.set_label(Label("applicant:ff", "confirmed_fraud", "analyst", T0 - 1, "test"))
    snap = store.snapshot(subject, subject.ts, PARAMS.hub_limit)
    ctx = ScoringContext(snap, subject, PARAMS)
    behaviour = {o.code: o for o in application_behaviour.observe(ctx)}
    assert behaviour["velocity_device"].value == 0.0
    assert behaviour["velocity_device"].sentence == (
        "Made through the store channel on the lender's own device: 3 applications on it in 24 hours and 3 in all, "
        "this one included, are the store's, not counted."
    )
    near = {o.code: o for o in bad_actor_proximity.observe(ctx)}["bad_actor_proximity"]
    assert near.value == 0.0
    assert near.sentence == (
        "No confirmed-fraud applicant within 2 links. The lender's own device used in the store channel is not "
        "walked through."
    )
    # from an app, the same device leads to the fraudster one link away
    web = replace(subject, channel="app")
    ctx = ScoringContext(store.snapshot(web, web.ts, PARAMS.hub_limit), web, PARAMS)
    assert {o.code: o for o in bad_actor_proximity.observe(ctx)}["bad_actor_proximity"].value == 1.0


def test_a_family_member_who_gave_no_address_is_still_family() -> None:
    stored = (
        app("A1", "aa", T0 - 90 * DAY, HOME, "device:tab1"),
        app("B1", "bb", T0 - 2 * DAY, "device:tab1"),
    )
    assert _observe(app("S1", "ss", T0, HOME, "device:tab1"), stored)["ring_size"].value == 0.0
    # but a shared device and no address at all is not a household
    bare = tuple(app(f"N{n}", f"n{n}", T0 - n * DAY, "device:tab2") for n in (1, 2))
    assert _observe(app("S1", "ss", T0, "device:tab2"), bare)["ring_size"].value == 2.0
    # nor one whose users gave two addresses
    moved = (*stored[:1], app("B1", "bb", T0 - 2 * DAY, "address:oak3", "device:tab1"))
    assert _observe(app("S1", "ss", T0, HOME, "device:tab1"), moved)["ring_size"].value == 2.0
