"""Opening a store from its URL, and binding it to the deployment's PII key.

The only module that imports a backend (lazily, so that the embedded store never
loads the Neo4j driver and the other way round).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.errors import InvalidInput
from graph.normalise import Normaliser
from graph.store.contract import GraphStore

PII_KEY_SETTING = "pii_key_fingerprint"
EMBEDDED_SCHEMES = ("sqlite", "memory")
NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def open_store(url: str, **options: Any) -> GraphStore:
    """Open the backend a URL names.

    ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` and ``memory://``
    give the embedded store; ``neo4j://``, ``neo4j+s://``, ``bolt://`` and
    ``bolt+s://`` give Neo4j (``options``: user, password, database, pool_size, timeout).
    ``read_only=True``: an embedded store is opened for reading only, beside the process
    that owns it (Neo4j serves any number of clients and ignores it).
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in EMBEDDED_SCHEMES:
        from graph.store.embedded.store import EmbeddedStore

        return EmbeddedStore(url, read_only=bool(options.get("read_only")))
    if scheme in NEO4J_SCHEMES:
        from graph.store.neo4j.store import Neo4jStore

        options.pop("read_only", None)
        return Neo4jStore(url, **options)
    raise InvalidInput("graph_url", f"unsupported store URL scheme {scheme or url!r}")


def open_import_set(out: Path, key_fingerprint: str, overwrite: bool = False) -> Any:
    """An offline import set for ``neo4j-admin database import`` (the first load of a large
    Neo4j graph): an application sink with ``upsert`` and ``close``, and the command to run."""
    from graph.store.neo4j.import_set import ImportSet

    return ImportSet(out, key_fingerprint, overwrite=overwrite)


def import_command(out: Path) -> str:
    """The ``neo4j-admin`` command line that imports the set written to ``out``."""
    from graph.store.neo4j.import_set import admin_command

    return admin_command(out)


def bind_pii_key(store: GraphStore, normaliser: Normaliser) -> None:
    """Record the PII key's fingerprint in a store that has none; refuse a store whose
    identifiers were hashed with another key (every lookup would miss them, and links
    to confirmed fraud would silently score as clean)."""
    stored = store.setting(PII_KEY_SETTING)
    mine = normaliser.key_fingerprint
    if stored is None:
        store.put_setting(PII_KEY_SETTING, mine)
    elif stored != mine:
        raise InvalidInput(
            "RINGSIGHT_PII_KEY",
            f"this store's identifiers were hashed with another PII key (fingerprint {stored}; this "
            f"process has {mine}): every identifier lookup would miss; use the key the store was built with",
        )
