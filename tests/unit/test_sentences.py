"""Every reason sentence, word for word, on hand-made graphs in the fake store.

A sentence is what a reviewer reads; it must be true: an input that was not
sent is "unknown" (and then adds nothing to the score), durations are in a
unit that fits, counts are pluralised, and a path to a confirmed fraudster is
told in links between people through named identifiers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import pytest

from detectors import application_behaviour, bad_actor_proximity, shared_identifier_ring, wording
from detectors.model import FEATURES
from detectors.score import Scorer
from detectors.signals import DetectorParams, Observation, ScoringContext
from graph.normalise import NormalisedApplication
from graph.store.records import Label
from tests.unit.fakes import DAY, T0, FakeStore, app

PARAMS = DetectorParams()
HOUR = 3600.0
MINUTE = 60.0
KM_PER_DEGREE = 2 * math.pi * 6371.0 / 360  # along the equator


# -- the wording helpers --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.0, "0 seconds"),
        (0.4, "0.4 seconds"),
        (1.0, "1 second"),
        (41.0, "41 seconds"),
        (59.4, "59 seconds"),
        (59.7, "1 minute"),  # never "60 seconds"
        (90.0, "1.5 minutes"),
        (120.0, "2 minutes"),
        (10.4 * MINUTE, "10 minutes"),
        (59 * MINUTE, "59 minutes"),
        (3599.0, "1 hour"),  # never "60 minutes"
        (1.5 * HOUR, "1.5 hours"),
        (24 * HOUR, "24 hours"),
        (47 * HOUR, "47 hours"),
        (47.98 * HOUR, "2 days"),  # never "48 hours"
        (3 * DAY, "3 days"),
        (400 * DAY, "400 days"),
    ],
)
def test_durations_take_the_unit_that_fits(seconds: float, said: str) -> None:
    assert wording.duration(seconds) == said


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="not negative"):
        wording.duration(-1.0)


@pytest.mark.parametrize(
    ("n", "singular", "plural", "said"),
    [
        (0, "application", None, "0 applications"),
        (1, "application", None, "1 application"),
        (3, "application", None, "3 applications"),
        (1, "identity", "identities", "1 identity"),
        (4, "identity", "identities", "4 identities"),
    ],
)
def test_counts_are_pluralised(n: int, singular: str, plural: str | None, said: str) -> None:
    assert wording.count(n, singular, plural) == said


@pytest.mark.parametrize(
    ("share", "decimals", "said"),
    [(0.0, 0, "0%"), (0.004, 0, "under 1%"), (2 / 3, 0, "67%"), (1.0, 0, "100%"), (0.9996, 1, "over 99.9%")],
)
def test_percentages_never_round_to_all_or_nothing(share: float, decimals: int, said: str) -> None:
    assert wording.percent(share, decimals) == said


def test_identifiers_and_paths_are_named_by_kind_and_display() -> None:
    assert wording.identifier("ip", "203.0.113.*") == "IP address 203.0.113.*"
    assert wording.identifier("bank_account") == "bank account"
    assert wording.through([("device", "dfp-****")]) == "through device dfp-****"
    assert wording.listing(["a", "b", "c"], "or") == "a, b or c"
    assert wording.listing(["a"]) == "a"


# -- every detector's sentences --------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One sentence: the applications stored before, labels, the application scored, the
    detector and code it comes from, and the sentence (and whether its input is known)."""

    name: str
    module: ModuleType
    code: str
    subject: NormalisedApplication
    sentence: str
    stored: tuple[NormalisedApplication, ...] = ()
    fraud: tuple[str, ...] = ()
    known: bool = True
    params: DetectorParams = PARAMS


def S(*identifiers: str, ts: float = T0, **props: Any) -> NormalisedApplication:
    """The application being scored, of applicant ``ss``."""
    return app("S1", "ss", ts, *identifiers, **props)


BEHAVIOUR = application_behaviour
BAD = bad_actor_proximity
RING = shared_identifier_ring
EARLIER = app("S0", "ss", T0 - 3 * DAY, income=5000.0)

CASES: tuple[Case, ...] = (
    # form filling: known, partly unknown, unknown; each unit range
    Case(
        "form fill, all known",
        BEHAVIOUR,
        "bot_form_fill",
        S(form_fill_seconds=41.0, field_edits=2, paste_events=1),
        "Form filled in 41 seconds (2 field edits, 1 paste event).",
    ),
    Case(
        "form fill, pastes not sent",
        BEHAVIOUR,
        "bot_form_fill",
        S(form_fill_seconds=41.0, field_edits=1),
        "Form filled in 41 seconds (1 field edit, paste events unknown).",
    ),
    Case(
        "form fill in minutes, counts not sent",
        BEHAVIOUR,
        "bot_form_fill",
        S(form_fill_seconds=300.0),
        "Form filled in 5 minutes (field edits unknown, paste events unknown).",
    ),
    Case(
        "form fill under a second, zero counts",
        BEHAVIOUR,
        "bot_form_fill",
        S(form_fill_seconds=0.4, field_edits=0, paste_events=0),
        "Form filled in 0.4 seconds (0 field edits, 0 paste events).",
    ),
    Case(
        "form fill not sent",
        BEHAVIOUR,
        "bot_form_fill",
        S(field_edits=3, paste_events=2),
        "Form-filling time unknown.",
        known=False,
    ),
    # field edits while filling: none, some, unknown
    Case(
        "no field edited",
        BEHAVIOUR,
        "few_field_edits",
        S(form_fill_seconds=41.0, field_edits=0),
        "No field edited while filling the form.",
    ),
    Case(
        "one field edited",
        BEHAVIOUR,
        "few_field_edits",
        S(field_edits=1),
        "1 field edit while filling the form.",
    ),
    Case(
        "field edits not sent",
        BEHAVIOUR,
        "few_field_edits",
        S(form_fill_seconds=41.0, paste_events=2),
        "Field edits while filling the form unknown.",
        known=False,
    ),
    # the session besides the form: seconds, minutes, none, either side unknown
    Case(
        "session 50 s besides the form",
        BEHAVIOUR,
        "short_session",
        S(form_fill_seconds=44.0, session_seconds=94.0),
        "The session lasted 50 seconds besides the 44 seconds of filling the form.",
    ),
    Case(
        "session minutes besides the form",
        BEHAVIOUR,
        "short_session",
        S(form_fill_seconds=90.0, session_seconds=390.0),
        "The session lasted 5 minutes besides the 1.5 minutes of filling the form.",
    ),
    Case(
        "session no longer than the form",
        BEHAVIOUR,
        "short_session",
        S(form_fill_seconds=41.0, session_seconds=40.0),
        "The session (40 seconds) was no longer than filling the form (41 seconds).",
    ),
    Case(
        "session not sent",
        BEHAVIOUR,
        "short_session",
        S(form_fill_seconds=41.0),
        "Session length unknown.",
        known=False,
    ),
    Case(
        "session sent without the form time",
        BEHAVIOUR,
        "short_session",
        S(session_seconds=300.0),
        "Form-filling time unknown.",
        known=False,
    ),
    # account age in every unit
    Case(
        "account 30 s old",
        BEHAVIOUR,
        "young_account",
        S(account_created_ts=T0 - 30),
        "The account was created 30 seconds before applying.",
    ),
    Case(
        "account two minutes old",
        BEHAVIOUR,
        "young_account",
        S(account_created_ts=T0 - 2 * MINUTE),
        "The account was created 2 minutes before applying.",
    ),
    Case(
        "account 1.5 h old",
        BEHAVIOUR,
        "young_account",
        S(account_created_ts=T0 - 1.5 * HOUR),
        "The account was created 1.5 hours before applying.",
    ),
    Case(
        "account 47 h old",
        BEHAVIOUR,
        "young_account",
        S(account_created_ts=T0 - 47 * HOUR),
        "The account was created 47 hours before applying.",
    ),
    Case(
        "account 400 days old",
        BEHAVIOUR,
        "young_account",
        S(account_created_ts=T0 - 400 * DAY),
        "The account was created 400 days before applying.",
    ),
    Case(
        "account created after the application",
        BEHAVIOUR,
        "young_account",
        S(account_created_ts=T0 + 10 * MINUTE),
        "The account was created 10 minutes after the application was submitted.",
    ),
    Case("account age not sent", BEHAVIOUR, "young_account", S(), "Account age unknown.", known=False),
    # velocity per identifier and per applicant
    Case("no IP given", BEHAVIOUR, "velocity_ip", S("device:dfp9f2c"), "No IP address given.", known=False),
    Case("new device", BEHAVIOUR, "velocity_device", S("device:dfp9f2c"), "No earlier use of this device."),
    Case("new IP", BEHAVIOUR, "velocity_ip", S("ip:203.0.113"), "No earlier use of this IP address."),
    Case(
        "IP used eight days earlier",
        BEHAVIOUR,
        "velocity_ip",
        S("ip:203.0.113"),
        "1 application from this IP address in the last hour, 1 in 24 hours, 1 in 7 days and 2 in all, "
        "this one included.",
        stored=(app("A1", "aa", T0 - 8 * DAY, "ip:203.0.113"),),
    ),
    Case(
        "device used 10 minutes earlier",
        BEHAVIOUR,
        "velocity_device",
        S("device:dfp9f2c"),
        "2 applications from this device in the last hour, 2 in 24 hours, 2 in 7 days and 2 in all, this one included.",
        stored=(app("A1", "aa", T0 - 10 * MINUTE, "device:dfp9f2c"),),
    ),
    Case(
        "phone used two days and 40 days earlier",
        BEHAVIOUR,
        "velocity_phone",
        S("phone:p1x"),
        "1 application from this phone in the last hour, 1 in 24 hours, 2 in 7 days and 3 in all, this one included.",
        stored=(app("A1", "aa", T0 - 2 * DAY, "phone:p1x"), app("A2", "bb", T0 - 40 * DAY, "phone:p1x")),
    ),
    Case(
        "quiet employer",
        BEHAVIOUR,
        "velocity_employer",
        S("employer:acme"),
        "2 applications naming this employer in 24 hours, this one included; 2 in 30 days.",
        stored=(app("A1", "aa", T0 - HOUR, "employer:acme"),),
    ),
    Case(
        "busy employer",
        BEHAVIOUR,
        "velocity_employer",
        S("employer:big"),
        # 60 earlier, one every 12 h: 3 in 24 h and 61 in 30 days; 3 / (61 / 30) = 1.5 times.
        "3 applications naming this employer in 24 hours, this one included; 61 in 30 days "
        "(1.5 times its daily average of 2).",
        stored=tuple(app(f"E{n}", f"e{n:02d}", T0 - n * 12 * HOUR, "employer:big") for n in range(1, 61)),
    ),
    Case(
        "first application",
        BEHAVIOUR,
        "velocity_applicant",
        S(),
        "The applicant submitted 1 application in 24 hours and 1 in 7 days, this one included.",
    ),
    Case(
        "third application today",
        BEHAVIOUR,
        "velocity_applicant",
        S(),
        "The applicant submitted 3 applications in 24 hours and 3 in 7 days, this one included.",
        stored=(app("S0", "ss", T0 - 2 * HOUR), app("S00", "ss", T0 - 5 * HOUR)),
    ),
    # edits between resubmissions
    Case("no earlier application", BEHAVIOUR, "frequent_edits", S(), "First application of this applicant."),
    Case(
        "income changed",
        BEHAVIOUR,
        "frequent_edits",
        S(income=9000.0),
        "1 difference in income from the earlier application (3 days before).",
        stored=(EARLIER,),
    ),
    Case(
        "nothing changed",
        BEHAVIOUR,
        "frequent_edits",
        S("employer:acme", income=5000.0),
        "0 differences in income or employer from the earlier application (24 hours before).",
        stored=(app("S0", "ss", T0 - DAY, "employer:acme", income=5000.0),),
    ),
    Case(
        "employer changed three times",
        BEHAVIOUR,
        "frequent_edits",
        S("employer:two"),
        "3 differences in employer from the last 3 earlier applications (the oldest 12 hours before).",
        stored=tuple(app(f"S0{n}", "ss", T0 - n * 4 * HOUR, "employer:one") for n in range(1, 4)),
    ),
    Case(
        "nothing to compare",
        BEHAVIOUR,
        "frequent_edits",
        S("device:dfp9f2c"),
        "No income, employer, phone or bank account given both here and in the earlier application (2 hours before).",
        stored=(app("S0", "ss", T0 - 2 * HOUR, "employer:acme"),),
        known=False,
    ),
    # identities on one device
    Case("no device given", BEHAVIOUR, "many_identities_device", S(), "No device given.", known=False),
    Case(
        "device unused before",
        BEHAVIOUR,
        "many_identities_device",
        S("device:dfp9f2c"),
        "No earlier use of this device.",
    ),
    Case(
        "three others this week",
        BEHAVIOUR,
        "many_identities_device",
        S("device:dfp9f2c"),
        "4 identities used this device in the last 7 days, this applicant included; "
        "3 applicants had used it before this application.",
        stored=tuple(app(f"A{n}", f"a{n:02d}", T0 - n * DAY, "device:dfp9f2c") for n in range(1, 4)),
    ),
    Case(
        "one other, long ago",
        BEHAVIOUR,
        "many_identities_device",
        S("device:dfp9f2c"),
        "1 identity used this device in the last 7 days, this applicant included; "
        "1 applicant had used it before this application.",
        stored=(app("A1", "aa", T0 - 10 * DAY, "device:dfp9f2c"),),
    ),
    # geo jumps
    Case(
        "no location now",
        BEHAVIOUR,
        "geo_jump",
        S(),
        "Location of this application unknown.",
        stored=(app("S0", "ss", T0 - HOUR, lat=0.0, lon=0.0),),
        known=False,
    ),
    Case(
        "no earlier application",
        BEHAVIOUR,
        "geo_jump",
        S(lat=0.0, lon=0.0),
        "First application of this applicant: no earlier location.",
    ),
    Case(
        "no earlier location",
        BEHAVIOUR,
        "geo_jump",
        S(lat=0.0, lon=0.0),
        "Location of the earlier applications unknown.",
        stored=(app("S0", "ss", T0 - HOUR),),
        known=False,
    ),
    Case(
        "ten degrees in two hours",
        BEHAVIOUR,
        "geo_jump",
        S(lat=0.0, lon=10.0),
        f"{10 * KM_PER_DEGREE:.0f} km from where application S0 was made 2 hours earlier "
        f"({10 * KM_PER_DEGREE / 2:.0f} km/h).",
        stored=(app("S0", "ss", T0 - 2 * HOUR, lat=0.0, lon=0.0),),
    ),
    Case(
        "ten degrees in five minutes",
        BEHAVIOUR,
        "geo_jump",
        S(lat=0.0, lon=10.0),
        # Times under a quarter of an hour are too coarse to divide by: the speed is a floor.
        f"{10 * KM_PER_DEGREE:.0f} km from where application S0 was made 5 minutes earlier "
        f"({10 * KM_PER_DEGREE / 0.25:.0f} km/h or more).",
        stored=(app("S0", "ss", T0 - 5 * MINUTE, lat=0.0, lon=0.0),),
    ),
    # direct use of flagged identifiers
    Case(
        "no flagged identifier", BAD, "bad_actor_direct", S("device:dfp9f2c"), "Uses no identifier confirmed as fraud."
    ),
    Case(
        "one flagged phone",
        BAD,
        "bad_actor_direct",
        S("device:dfp9f2c", "phone:bad1"),
        "Uses 1 identifier confirmed as fraud: phone bad***.",
        fraud=("phone:bad1",),
    ),
    Case(
        "two flagged identifiers",
        BAD,
        "bad_actor_direct",
        S("device:dfp9f2c", "phone:bad1"),
        "Uses 2 identifiers confirmed as fraud: device dfp*** and phone bad***.",
        fraud=("phone:bad1", "device:dfp9f2c"),
    ),
    Case(
        "the applicant flagged",
        BAD,
        "bad_actor_direct",
        S("device:dfp9f2c"),
        "The applicant is confirmed fraud.",
        fraud=("applicant:ss",),
    ),
    # proximity in links between people, naming the identifiers along the way
    Case(
        "nobody flagged nearby",
        BAD,
        "bad_actor_proximity",
        S("device:dfp9f2c"),
        "No confirmed-fraud applicant within 2 links.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"),),
    ),
    Case(
        "fraudster shares the device",
        BAD,
        "bad_actor_proximity",
        S("device:dfp9f2c"),
        "1 confirmed-fraud applicant within 2 links; the nearest is 1 link away (through device dfp***).",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"), app("B1", "bb", T0 - DAY, "phone:p1x")),
        fraud=("applicant:aa",),
    ),
    Case(
        "fraudster two links away",
        BAD,
        "bad_actor_proximity",
        S("device:dfp9f2c"),
        "1 confirmed-fraud applicant within 2 links; the nearest is 2 links away "
        "(through device dfp***, then phone p1x***).",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"), app("B1", "bb", T0 - DAY, "phone:p1x")),
        fraud=("applicant:bb",),
    ),
    Case(
        "two fraudsters",
        BAD,
        "bad_actor_proximity",
        S("device:dfp9f2c"),
        "2 confirmed-fraud applicants within 2 links; the nearest is 1 link away (through device dfp***).",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"), app("B1", "bb", T0 - DAY, "phone:p1x")),
        fraud=("applicant:aa", "applicant:bb"),
    ),
    Case(
        "a neighbour's phone flagged",
        BAD,
        "bad_actor_proximity",
        S("device:dfp9f2c"),
        "No confirmed-fraud applicant within 2 links. An applicant 1 link away (through device dfp***) "
        "uses phone p1x***, which is confirmed as fraud.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"),),
        fraud=("phone:p1x",),
    ),
    Case(
        "a shorter walk",
        BAD,
        "bad_actor_proximity",
        S("device:dfp9f2c"),
        "No confirmed-fraud applicant within 1 link.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"), app("B1", "bb", T0 - DAY, "phone:p1x")),
        fraud=("applicant:bb",),
        params=replace(PARAMS, max_hops=2),
    ),
    # shared identifiers and the ring around the applicant
    Case(
        "nothing shared", RING, "shared_identifier", S("device:dfp9f2c"), "Shares no identifier with other applicants."
    ),
    Case(
        "a hub employer",
        RING,
        "shared_identifier",
        S("employer:big"),
        "Shares 1 identifier with other applicants (weighted by specificity and recency: {value:.2f}): "
        "employer big*** (a hub of 40 applicants before this application).",
        stored=tuple(app(f"E{n}", f"e{n:02d}", T0 - n * HOUR, "employer:big") for n in range(1, 41)),
    ),
    Case(
        "a device and a phone",
        RING,
        "shared_identifier",
        S("device:dfp9f2c", "phone:p1x"),
        # the most specific first: a phone two people share, then a device three share
        "Shares 2 identifiers with other applicants (weighted by specificity and recency: {value:.2f}): "
        "phone p1x*** with 1 other applicant and device dfp*** with 2 other applicants.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"), app("B1", "bb", T0 - DAY, "device:dfp9f2c")),
    ),
    Case(
        "nobody linked",
        RING,
        "ring_size",
        S("device:dfp9f2c"),
        "No other applicant is linked to this one by specific identifiers.",
    ),
    Case(
        "one linked",
        RING,
        "ring_size",
        S("device:dfp9f2c"),
        "1 other applicant linked to this one by specific identifiers, directly or through one other applicant.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"),),
    ),
    Case(
        "ring read up to its cap",
        RING,
        "ring_size",
        S("device:dfp9f2c"),
        "At least 2 other applicants linked to this one by specific identifiers, directly or through one other "
        "applicant (the ring is read up to 3 applicants).",
        stored=(
            app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"),
            *(app(f"B{n}", f"b{n}", T0 - DAY, "phone:p1x") for n in range(3)),
        ),
        params=replace(PARAMS, ring_cap=3),
    ),
    Case(
        "no ring",
        RING,
        "ring_density",
        S("device:dfp9f2c"),
        "No ring around the applicant: no other applicant is linked by a specific identifier.",
    ),
    Case(
        "a pair",
        RING,
        "ring_density",
        S("device:dfp9f2c"),
        "The ring around the applicant has 2 applicants, too few to measure its density.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"),),
    ),
    Case(
        "a chain of three",
        RING,
        "ring_density",
        S("device:dfp9f2c"),
        "The ring around the applicant is 67% dense: 2 of the 3 pairs of its 3 applicants share a specific identifier.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c", "phone:p1x"), app("C1", "cc", T0 - DAY, "phone:p1x")),
    ),
    Case(
        "three on one device",
        RING,
        "ring_density",
        S("device:dfp9f2c"),
        "The ring around the applicant is 100% dense: 3 of the 3 pairs of its 3 applicants share a specific "
        "identifier.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"), app("B1", "bb", T0 - DAY, "device:dfp9f2c")),
    ),
    Case(
        "ring quiet lately",
        RING,
        "ring_velocity",
        S("device:dfp9f2c"),
        "No other ring member applied in the 14 days before this application.",
        stored=(app("A1", "aa", T0 - 20 * DAY, "device:dfp9f2c"),),
    ),
    Case(
        "one member active",
        RING,
        "ring_velocity",
        S("device:dfp9f2c"),
        "1 other ring member applied in the 14 days before this application.",
        stored=(app("A1", "aa", T0 - 20 * DAY, "device:dfp9f2c"), app("B1", "bb", T0 - DAY, "device:dfp9f2c")),
    ),
    Case(
        "two members active",
        RING,
        "ring_velocity",
        S("device:dfp9f2c"),
        "2 other ring members applied in the 14 days before this application.",
        stored=(app("A1", "aa", T0 - 2 * DAY, "device:dfp9f2c"), app("B1", "bb", T0 - DAY, "device:dfp9f2c")),
    ),
    Case(
        "nobody in the ring",
        RING,
        "ring_confirmed_fraud",
        S("device:dfp9f2c"),
        "No other applicant in a ring with this one.",
    ),
    Case(
        "the one other flagged",
        RING,
        "ring_confirmed_fraud",
        S("device:dfp9f2c"),
        "The one other ring member is confirmed fraud.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"),),
        fraud=("applicant:aa",),
    ),
    Case(
        "the one other not flagged",
        RING,
        "ring_confirmed_fraud",
        S("device:dfp9f2c"),
        "The one other ring member is not confirmed fraud.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"),),
    ),
    Case(
        "one of two flagged",
        RING,
        "ring_confirmed_fraud",
        S("device:dfp9f2c"),
        "1 of the 2 other ring members is confirmed fraud.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"), app("B1", "bb", T0 - DAY, "device:dfp9f2c")),
        fraud=("applicant:aa",),
    ),
    Case(
        "none of two flagged",
        RING,
        "ring_confirmed_fraud",
        S("device:dfp9f2c"),
        "0 of the 2 other ring members are confirmed fraud.",
        stored=(app("A1", "aa", T0 - DAY, "device:dfp9f2c"), app("B1", "bb", T0 - DAY, "device:dfp9f2c")),
    ),
)


def _store(case: Case) -> FakeStore:
    store = FakeStore(case.stored)
    for node in case.fraud:
        store.set_label(Label(node, "confirmed_fraud", "analyst", T0 - 1, "test"))
    return store


def _observe(case: Case) -> dict[str, Observation]:
    snap = _store(case).snapshot(case.subject, case.subject.ts, case.params.hub_limit)
    found: list[Observation] = case.module.observe(ScoringContext(snap, case.subject, case.params))
    return {o.code: o for o in found}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.code}: {c.name}" for c in CASES])
def test_the_sentence_says_what_was_seen(case: Case) -> None:
    obs = _observe(case)[case.code]
    assert obs.sentence == case.sentence.format(value=obs.value)
    assert obs.known is case.known
    assert "(s)" not in obs.sentence


def test_every_code_is_worded_in_the_table() -> None:
    assert {c.code for c in CASES} == set(FEATURES)
    for code in FEATURES:
        # each code is shown at least once with its input known
        assert any(c.code == code and c.known for c in CASES), code


# -- unknown inputs add nothing, and the score still adds up ----------------------------------------
UNKNOWN_EVERYTHING = S()  # no identifier, no telemetry, no account time, no location


def test_unknown_inputs_have_no_strength_and_are_never_reasons() -> None:
    scorer = Scorer.default()
    # every signal may be a reason
    scorer = Scorer(replace(scorer.config, min_contribution=-1.0, top_reasons=len(FEATURES)), scorer.model)
    result = scorer.score(FakeStore([app("S0", "ss", T0 - HOUR)]), UNKNOWN_EVERYTHING)
    unknown = {s.code for s in result.signals if not s.known}
    assert unknown == {
        "velocity_device",
        "velocity_phone",
        "velocity_ip",
        "velocity_employer",
        "young_account",
        "bot_form_fill",
        "few_field_edits",
        "short_session",
        "frequent_edits",
        "many_identities_device",
        "geo_jump",
    }
    for s in result.signals:
        if not s.known:
            assert (s.strength, s.contribution) == (0.0, 0.0), s.code
            assert "More abnormal" not in s.sentence
    assert unknown.isdisjoint(r.code for r in result.reasons)
    assert {r.code for r in result.reasons} == {s.code for s in result.signals if s.known}


def test_the_neutral_values_of_unknown_inputs_have_no_strength_in_the_shipped_model() -> None:
    """Replays (training, evaluation) weigh raw values, not ``known``: the neutral value an
    unknown input keeps must weigh nothing there either, or offline and online would differ."""
    scorer = Scorer.default()
    observed = scorer.observe(FakeStore([app("S0", "ss", T0 - HOUR)]), UNKNOWN_EVERYTHING)
    unknown = [obs for _, obs in observed if not obs.known]
    assert len(unknown) == 11
    for obs in unknown:
        assert scorer.strength(obs.code, obs.value)[0] == 0.0, obs.code


@pytest.mark.parametrize(
    "subject",
    [
        UNKNOWN_EVERYTHING,
        S("device:dfp9f2c", "phone:p1x", form_fill_seconds=3.0, account_created_ts=T0 - 120),
        S("device:dfp9f2c", form_fill_seconds=5.0, lat=0.0, lon=10.0),
    ],
    ids=["all unknown", "known", "mixed"],
)
def test_the_score_is_the_sum_of_its_contributions(subject: NormalisedApplication) -> None:
    store = FakeStore(
        [
            app("S0", "ss", T0 - HOUR, lat=0.0, lon=0.0),
            app("A1", "aa", T0 - 10 * MINUTE, "device:dfp9f2c", "phone:p1x"),
            app("B1", "bb", T0 - DAY, "phone:p1x"),
        ]
    )
    store.set_label(Label("applicant:bb", "confirmed_fraud", "analyst", T0 - 1, "test"))
    scorer = Scorer.default()
    result = scorer.score(store, subject)
    total = scorer.model.bias + sum(s.contribution for s in result.signals)
    # compared as probabilities: near 1 the logit of a float has lost its last digits
    assert result.score == pytest.approx(1.0 / (1.0 + math.exp(-total)), rel=1e-12, abs=1e-15)
    assert all(s.contribution == scorer.model.weights.get(s.code, 0.0) * s.strength for s in result.signals)


def test_population_notes_never_claim_every_application() -> None:
    scorer = Scorer.default()
    strength, note = scorer.strength("bot_form_fill", 1e9)  # beyond every value in the baseline
    assert strength == 1.0
    assert note == " More abnormal than 100.0% of applications."
    highest = scorer.model.baselines["bot_form_fill"].quantiles[-1]
    _, note = scorer.strength("bot_form_fill", highest)
    assert "100.0%" not in note and note.startswith(" More abnormal than ")
