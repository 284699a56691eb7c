"""Initial bulk loads into Neo4j through ``neo4j-admin database import full``.

Transactional loading (``ringsight load`` against a running server) is bound
by Cypher and commit costs on the server: about 2k applications/s on a
2-core machine. For the first load of a large history Neo4j's own answer is
the offline importer, which writes store files directly. This module turns
applications into the importer's CSV files with exactly the graph that
:meth:`graph.store.neo4j.store.Neo4jStore.upsert` writes (same labels, types,
property names and types, first-seen identifier display, last-seen applicant
display, re-sent applications skipped, an application id reused for another
applicant refused): the same store contract, reached by another road.

The import set is a folder::

    import.json            counts and the importer's arguments (paths relative to the folder)
    applicants.csv         :ID(Applicant), key, display
    <kind>.csv             :ID(<Label>), key, display           one per identifier kind
    applications.csv       :ID(Application), application_id, ts:double, ... submitted_at:datetime
    settings.csv           :ID(Setting), name, value             the PII key's fingerprint
    submitted.csv          :START_ID(Applicant), :END_ID(Application), ts:double
    <RELATIONSHIP>.csv     :START_ID(Application), :END_ID(<Label>), ts:double, ord:long, applicant

Node ids in the files are numbers private to the import (``--id-type=integer``,
one ID space per label); they are not stored.

Every string is written quoted, so an empty string stays an empty string and
an unquoted empty field is "no property" (how the importer reads a missing
value). Rows are appended as batches arrive; identifier and applicant nodes
are written when the set is closed (each once).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from graph.errors import Conflict, InvalidInput
from graph.normalise import SCALAR_PROPS, NormalisedApplication
from graph.store import PII_KEY_SETTING
from graph.store.neo4j.rows import epoch_parts
from graph.vocabulary import LABEL_OF_KIND, RELATIONSHIP_OF_KIND

MANIFEST = "import.json"
FORMAT_VERSION = 1

_TYPE_OF_ANNOTATION = {"float | None": "double", "int | None": "long", "str | None": "string"}


def _scalar_types() -> dict[str, str]:
    annotations = {f.name: str(f.type) for f in dataclasses.fields(NormalisedApplication)}
    out: dict[str, str] = {}
    for name in SCALAR_PROPS:
        kind = _TYPE_OF_ANNOTATION.get(annotations[name])
        if kind is None:  # a new scalar field with a type this writer does not know yet
            raise TypeError(f"no import type for application field {name}: {annotations[name]}")
        out[name] = kind
    return out


_SCALAR_TYPES = _scalar_types()


def _header(name: str, kind: str) -> str:
    return name if kind == "string" else f"{name}:{kind}"


_APPLICATION_HEADER = (
    [":ID(Application)", "application_id", "ts:double", "applicant_key", "applicant_display"]
    + [_header(name, kind) for name, kind in _SCALAR_TYPES.items()]
    + ["submitted_at:datetime"]
)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _text(value: str | None) -> str:
    return "" if value is None else _quoted(value)


def _number(value: float | None) -> str:
    # repr() of a float is the shortest text that reads back as the same double.
    return "" if value is None else repr(float(value))


def _whole(value: int | None) -> str:
    return "" if value is None else str(int(value))


_CELL: dict[str, Callable[[Any], str]] = {"double": _number, "long": _whole, "string": _text}
_SCALAR_CELLS = [(name, _CELL[kind]) for name, kind in _SCALAR_TYPES.items()]


def _iso(ts: float) -> str:
    """The UTC instant the online loader stores as ``submitted_at`` (to the microsecond)."""
    sec, ns = epoch_parts(ts)
    moment = datetime.fromtimestamp(sec, UTC).replace(microsecond=ns // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ImportSet:
    """Writes an import set for an empty database; used like a store by the loader
    (``upsert``), so validation, normalisation, rejects and progress are shared."""

    def __init__(self, folder: Path, key_fingerprint: str, overwrite: bool = False) -> None:
        self.folder = folder
        self.key_fingerprint = key_fingerprint
        if folder.exists() and any(folder.iterdir()):
            if not (folder / MANIFEST).is_file():
                raise InvalidInput("out", f"{folder} is not empty and holds no import set; pick an empty folder")
            if not overwrite:
                raise InvalidInput("out", f"{folder} holds an import set (pass --overwrite to replace it)")
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # Marked incomplete until close(): an interrupted or refused run is never imported.
        (folder / MANIFEST).write_text(json.dumps({"format": FORMAT_VERSION, "complete": False}) + "\n")
        # Nodes are numbered in each label's ID space as first seen (--id-type=integer:
        # the importer then skips mapping string ids, its slowest stage).
        self._owner: dict[str, str] = {}  # application id -> applicant key (number: order seen)
        self._applicants: dict[str, list[Any]] = {}  # key -> [number, display (last seen, as MERGE ... SET)]
        self._identifiers: dict[str, dict[str, tuple[int, str]]] = {k: {} for k in LABEL_OF_KIND}  # first seen
        self._multiline = False  # a text with a line break needs the importer's slower reader
        self._links = {kind: 0 for kind in LABEL_OF_KIND}
        self._files: dict[str, IO[str]] = {}
        self._open("applications.csv", _APPLICATION_HEADER)
        self._open("submitted.csv", [":START_ID(Applicant)", ":END_ID(Application)", "ts:double"])
        for kind, label in LABEL_OF_KIND.items():
            self._open(
                f"{RELATIONSHIP_OF_KIND[kind]}.csv",
                [":START_ID(Application)", f":END_ID({label})", "ts:double", "ord:long", "applicant"],
            )
        self._closed = False

    def _open(self, name: str, header: list[str]) -> None:
        fh = (self.folder / name).open("w", encoding="utf-8", newline="")
        fh.write(",".join(header) + "\n")
        self._files[name] = fh

    def _note_text(self, *values: str) -> None:
        if not self._multiline and any("\n" in v or "\r" in v for v in values):
            self._multiline = True

    # -- the part of the store contract the loader uses -------------------------------------------
    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        """Append the applications not written yet; return how many were new."""
        if self._closed:
            raise RuntimeError("the import set is closed")
        fresh: list[NormalisedApplication] = []
        batch: dict[str, str] = {}
        for app in applications:
            owner = self._owner.get(app.application_id) or batch.get(app.application_id)
            if owner is None:
                batch[app.application_id] = app.applicant_key
                fresh.append(app)
            elif owner != app.applicant_key:
                raise Conflict(f"application {app.application_id!r} is already stored for another applicant")
            for ident in app.identifiers:
                if ident.kind not in self._identifiers:
                    raise InvalidInput("identifiers", f"unknown identifier kind {ident.kind!r}")
        # Checked as a whole first: a refused batch writes nothing, as in the stores.
        self._owner.update(batch)
        apps_out, submitted = self._files["applications.csv"], self._files["submitted.csv"]
        app_lines: list[str] = []
        sub_lines: list[str] = []
        link_lines: dict[str, list[str]] = {kind: [] for kind in LABEL_OF_KIND}
        number = len(self._owner) - len(fresh)
        for app in fresh:
            person_node = self._applicants.get(app.applicant_key)
            if person_node is None:
                person_node = self._applicants[app.applicant_key] = [len(self._applicants), app.applicant_display]
            else:
                person_node[1] = app.applicant_display
            ts = repr(float(app.ts))
            person = _quoted(app.applicant_key)
            cells = [str(number), _quoted(app.application_id), ts, person, _quoted(app.applicant_display)]
            cells += [cell(getattr(app, name)) for name, cell in _SCALAR_CELLS]
            cells.append(_iso(app.ts))
            app_lines.append(",".join(cells))
            sub_lines.append(f"{person_node[0]},{number},{ts}")
            self._note_text(app.application_id, app.applicant_display, app.applicant_key)
            for position, ident in enumerate(app.identifiers):
                known = self._identifiers[ident.kind]
                node = known.get(ident.key)
                if node is None:
                    node = known[ident.key] = (len(known), ident.display)
                link_lines[ident.kind].append(f"{number},{node[0]},{ts},{position},{person}")
            number += 1
        for name, cell in _SCALAR_CELLS:
            if cell is _text:
                self._note_text(*(v for a in fresh if isinstance(v := getattr(a, name), str)))
        apps_out.write("".join(line + "\n" for line in app_lines))
        submitted.write("".join(line + "\n" for line in sub_lines))
        for kind, lines in link_lines.items():
            self._files[f"{RELATIONSHIP_OF_KIND[kind]}.csv"].write("".join(line + "\n" for line in lines))
            self._links[kind] += len(lines)
        return len(fresh)

    # -- finishing ----------------------------------------------------------------------------------
    def close(self) -> dict[str, Any]:
        """Write the node files and the manifest; return the manifest."""
        if self._closed:
            return self.manifest()
        for fh in self._files.values():
            fh.close()
        self._write_nodes("applicants.csv", "Applicant", self._applicants)
        for kind, label in LABEL_OF_KIND.items():
            self._write_nodes(f"{kind}.csv", label, self._identifiers[kind])
        with (self.folder / "settings.csv").open("w", encoding="utf-8", newline="") as fh:
            # The store remembers which PII key hashed its identifiers (graph.store.bind_pii_key).
            fh.write(f":ID(Setting),name,value\n0,{_quoted(PII_KEY_SETTING)},{_quoted(self.key_fingerprint)}\n")
        self._closed = True
        manifest = self.manifest()
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest

    def _write_nodes(self, name: str, label: str, nodes: dict[str, Any]) -> None:
        self._note_text(*(display for _, display in nodes.values()))
        with (self.folder / name).open("w", encoding="utf-8", newline="") as fh:
            fh.write(f":ID({label}),key,display\n")
            fh.write("".join(f"{n},{_quoted(k)},{_quoted(d)}\n" for k, (n, d) in nodes.items()))

    def manifest(self) -> dict[str, Any]:
        nodes = {"Applicant": "applicants.csv", "Application": "applications.csv"}
        nodes.update({label: f"{kind}.csv" for kind, label in LABEL_OF_KIND.items()})
        nodes["Setting"] = "settings.csv"
        relationships = {"SUBMITTED": "submitted.csv"}
        relationships.update({rel: f"{rel}.csv" for rel in RELATIONSHIP_OF_KIND.values()})
        # Paths relative to the folder: run the importer from inside it.
        admin = ["database", "import", "full"]
        admin += [f"--nodes={label}={name}" for label, name in nodes.items()]
        admin += [f"--relationships={rel}={name}" for rel, name in relationships.items()]
        admin += ["--id-type=integer", f"--multiline-fields={'true' if self._multiline else 'false'}", "neo4j"]
        return {
            "format": FORMAT_VERSION,
            "complete": self._closed,
            "pii_key_fingerprint": self.key_fingerprint,
            "applications": len(self._owner),
            "applicants": len(self._applicants),
            "identifiers": {kind: len(keys) for kind, keys in self._identifiers.items()},
            "links": dict(self._links),
            "neo4j_admin": admin,
        }


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise InvalidInput(
            "import",
            f"{folder} is not an import set (no {MANIFEST}; write one with `ringsight load ... --neo4j-import DIR`)",
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise InvalidInput("import", f"{path} has format {manifest.get('format')!r}, expected {FORMAT_VERSION}")
    if not manifest.get("complete"):
        raise InvalidInput("import", f"{folder} is an unfinished import set (its load stopped); write it again")
    return manifest


def admin_command(folder: Path, database: str = "neo4j") -> str:
    """The shell command that imports ``folder`` into ``database`` (which must not
    exist or be empty, with the server stopped)."""
    args = list(read_manifest(folder)["neo4j_admin"])
    args[-1] = database
    return f"cd {shlex.quote(str(folder.resolve()))} && neo4j-admin " + " ".join(shlex.quote(a) for a in args)
