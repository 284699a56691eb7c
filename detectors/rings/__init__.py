"""Batch ring detection over the whole graph (and the online ring hook).

A *ring* is a group of applicants linked through specific identifiers (the
same device, phone, e-mail, bank account or address) whose shape and
behaviour look coordinated rather than familial. A run:

1. projects applicants linked through identifiers of :attr:`RingParams.kinds`
   used by 2..``hub_limit`` applicants (the online scorer's hub limit: a
   store kiosk is counted, never linked), leaving out identifiers an
   investigator allow-listed or cleared (``store.linked_components``);
2. splits components larger than ``max_ring_size`` into Louvain communities
   (``store.split_communities``);
3. measures every part of at least ``min_members`` applicants: its
   *confidence* (:func:`ring_confidence`, how sure we are that it is a ring) and
   its *score* (:mod:`detectors.rings.scoring`, the expected loss that ranks
   rings), with a plain-language summary of both in ``features["summary"]``;
4. reports parts whose confidence is at least ``threshold``, except *scripted
   bursts* (one automation endpoint filling forms in seconds: the bot
   detector's case, not an identity ring);
5. gives every reported ring an id that survives small changes
   (:func:`assign_ids`) and records splits and merges in its lineage;
6. writes the rings with the run id (``store.write_rings``) unless nothing
   changed since the active run.

Everything is read through the store contract, so the embedded store and
Neo4j + GDS give the same rings on the same data.

The ring confidence is a logistic combination of strengths in [0, 1] with the
weights of :data:`DEFAULT_WEIGHTS`::

    z = -13 + 6 compression + 5 young_accounts + 5 hurried_forms + 5 few_edits
            + 3 shared_kinds + 8 fraud_evidence + 7 size
    confidence = 1 / (1 + exp(-z))   reported when confidence >= 0.75 (z >= 1.1)

Confidence is close to 1 for nearly every reported ring, so it does not rank
them. The ring score (``RingRecord.score``) does: the expected loss (confidence
x the amounts the members applied for) on [0, 1), 0.5 at ``loss_scale``
(20) average loans; a ring is critical from score 0.6 (30 average loans). See
:mod:`detectors.rings.scoring`.

- compression: how tightly the members' first applications cluster in time,
  the mean of ``exp(-span / 14 days)`` over all members and over the shortest
  window holding three quarters of them (a household applies months apart, a
  ring within days; the core span keeps a confirmed fraudster who applied
  earlier from diluting it);
- young_accounts: share of members whose account was opened less than 7 days
  before their first application;
- hurried_forms: share of applications whose form was filled in under 40 s;
- few_edits: ``exp(-mean field edits / 1.5)`` (honest applicants correct what
  they type, operators paste prepared identities);
- shared_kinds: 0 for one kind of shared identifier, 0.5 for two, 1 for three or more;
- fraud_evidence: ``min(1, 3 * confirmed-fraud share of members + 0.5 *
  confirmed-fraud identifiers)``;
- size: ``min(1, (members - 2) / 8)``.

The weights are hand-set, checked against planted rings and benign look-alikes
(households, kiosks, big employers) of generated populations (seeds 7-10);
the tests hold them on seeds never used to set them. A family of three who
applied the same week with one new account stays below the threshold; a
ring of three with new accounts and hurried, unedited forms does not. The
mean amount against the population mean is reported as a feature, not used
for confidence: bust-outs and honest large loans share it. Amounts weigh in the
score instead, once a group is confidently a ring.

The package: :mod:`.params` (what a run is told), :mod:`.measuring` (one part's
features, confidence and score), :mod:`.scoring` (the expected loss that ranks
rings), :mod:`.lineage` (ids and their history across runs), :mod:`.run` (the
batch run) and :mod:`.online` (joins and provisional rings between runs).

>>> from graph.store import open_store
>>> run = detect_rings(open_store("memory://"), clock=lambda: 0.0)
>>> run.rings, run.written
([], False)
"""

from __future__ import annotations

from detectors.rings.lineage import assign_ids, ring_id_of
from detectors.rings.measuring import (
    Population,
    RingCandidate,
    measure,
    population_reference,
    ring_confidence,
    ring_log_odds,
)
from detectors.rings.online import PROVISIONAL, OnlineRing
from detectors.rings.params import DEFAULT_WEIGHTS, END_OF_TIME, EVENTS, NAME, RING_KINDS, Progress, RingParams
from detectors.rings.run import _RUN_LOCK, RingRun, detect_rings, new_run_id

__all__ = [
    "DEFAULT_WEIGHTS",
    "END_OF_TIME",
    "EVENTS",
    "NAME",
    "PROVISIONAL",
    "RING_KINDS",
    "_RUN_LOCK",
    "OnlineRing",
    "Population",
    "Progress",
    "RingCandidate",
    "RingParams",
    "RingRun",
    "assign_ids",
    "detect_rings",
    "measure",
    "new_run_id",
    "population_reference",
    "ring_confidence",
    "ring_id_of",
    "ring_log_odds",
]
