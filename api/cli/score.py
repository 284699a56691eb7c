"""``ringsight score`` (applications from a file, one JSON result per line) and ``ringsight
stats`` (what the store holds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.desk import fail, open_desk
from graph.errors import RingsightError


def score(
    path: Annotated[Path, typer.Argument(help="A JSON file (one application or a list) or a CSV of applications")],
    persist: Annotated[bool, typer.Option(help="Store the applications (default: dry run)")] = False,
) -> None:
    """Score applications from a file and print one JSON result per line."""
    from graph.records import from_flat, parse_record

    desk = open_desk()
    try:
        if path.suffix == ".csv":
            from graph.loading import iter_rows

            records = [from_flat(r) for rows in iter_rows(path, 10000) for r in rows]
        else:
            body = json.loads(path.read_text())
            records = [parse_record(b) for b in (body if isinstance(body, list) else [body])]
        for record in records:
            done = desk.assess(record, persist=persist, actor="cli")
            r = done.result
            print(
                json.dumps(
                    {
                        "application_id": r.application_id,
                        "score": round(r.score, 6),
                        "band": r.band,
                        "action": r.action,
                        "reasons": r.reason_dicts(),
                        "stored": done.stored,
                    }
                )
            )
    except RingsightError as exc:
        fail(exc)
    finally:
        desk.store.close()


def stats() -> None:
    """Counts of nodes in the configured store."""
    desk = open_desk()
    print(json.dumps(desk.store.stats(), indent=2, sort_keys=True))
    desk.store.close()
