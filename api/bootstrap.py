"""Settings -> store -> scorer -> desk: how the HTTP service and every CLI command
build the fraud desk, in one place."""

from __future__ import annotations

import logging

from api.service.desk import FraudDesk
from api.service.review_policy import ReviewPolicy
from api.settings import Settings
from detectors.score import Scorer
from graph.errors import InvalidInput, StoreUnavailable
from graph.normalise import Normaliser
from graph.records import configure_input_rules
from graph.store import GraphStore, bind_pii_key, open_store

log = logging.getLogger("ringsight")


def build_normaliser(settings: Settings) -> Normaliser:
    """Identifiers hashed with the deployment's PII key (the same key must build every store);
    records are checked against the settings' input rules from here on."""
    configure_input_rules(settings.input_rules())
    return Normaliser(settings.pii_key.get_secret_value().encode(), settings.phone_region)


def build_desk(settings: Settings, store: GraphStore | None = None, read_only: bool = False) -> FraudDesk:
    """The desk for these settings (opening the configured store unless one is given;
    ``read_only``: an embedded store beside the process that owns it, for reading tools)."""
    if store is None:
        store = open_store(settings.graph_url, read_only=read_only, **settings.neo4j_options())
    normaliser = build_normaliser(settings)
    try:
        bind_pii_key(store, normaliser)
    except StoreUnavailable as exc:
        # The service starts while the store is down (readiness says so); the key is
        # checked by the next process that finds it up.
        log.warning("could not check the PII key against the store: %s", exc)
    except InvalidInput:
        store.close()
        raise
    desk = FraudDesk(store, normaliser, Scorer.default(settings.config_path, settings.model_path))
    desk.review = ReviewPolicy.of(settings.case_outcome_layers, settings.case_committee_limit_share)
    desk.monitoring = "queued" if settings.monitoring else "off"
    desk.configure_learning(settings.fraud_outcomes, settings.model_refresh_seconds)
    return desk
