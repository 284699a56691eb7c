"""The report of a ring-detection run.

``rings.json`` and ``rings.csv`` are for machines (one ring per entry or row,
with its features and lineage); ``report.html`` is for people: a summary, a
sortable table of rings, a picture of each top ring (members, the identifiers
they share, confirmed fraud highlighted) and the score distributions. The page
is self-contained (inline SVG, CSS and a few lines of JavaScript) and opens
offline. Only masked identifier text is shown, never raw PII.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from detectors.rings import RingRun
from graph.memory import collector_paused
from graph.store import GraphStore, RingRecord
from graph.vocabulary import applicant_node, node_kind

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "ring_report.html.j2"

CSV_COLUMNS: tuple[str, ...] = (
    "ring_id",
    "score",
    "log_odds",
    "critical",
    "size",
    "density",
    "kinds",
    "identifiers",
    "confirmed_fraud",
    "confirmed_fraud_share",
    "span_days",
    "core_span_days",
    "young_account_share",
    "hurried_share",
    "mean_amount",
    "amount_ratio",
    "event",
    "previous",
    "first_run",
    "run_id",
)

KIND_COLOURS: dict[str, str] = {
    "device": "#8c564b",
    "phone": "#9467bd",
    "email": "#17becf",
    "bank_account": "#bcbd22",
    "address": "#7f7f7f",
    "ip": "#e377c2",
    "employer": "#aec7e8",
}
MEMBER_COLOURS: dict[str, str] = {"confirmed_fraud": "#d62728", "cleared": "#2ca02c", "": "#1f77b4"}


def ring_dict(ring: RingRecord, critical: float) -> dict[str, Any]:
    """One ring as JSON: member and identifier node ids, features and lineage."""
    return {
        "ring_id": ring.ring_id,
        "run_id": ring.run_id,
        "score": ring.score,
        "critical": ring.score >= critical,
        "size": len(ring.members),
        "members": [applicant_node(m) for m in ring.members],
        "identifiers": list(ring.identifiers),
        "features": ring.features,
        "lineage": ring.lineage,
    }


def write_json(run: RingRun, path: Path) -> Path:
    body = {
        "run": run.summary(),
        "population": {"mean_amount": run.population.mean_amount, "sampled_applicants": run.population.sampled},
        "rings": [ring_dict(r, run.params.critical) for r in run.rings],
        "scripted_bursts": [
            {
                "members": [applicant_node(m) for m in c.members],
                "identifiers": list(c.identifiers),
                "score": c.score,
                "features": c.features,
            }
            for c in run.candidates
            if c.scripted
        ],
        # GDS node similarity on Neo4j: leads for investigators, not rings (a pair is never a ring).
        "look_alikes": [
            {
                "first": applicant_node(p.first),
                "second": applicant_node(p.second),
                "similarity": round(p.similarity, 4),
                "shared_identifiers": p.shared,
                "identifiers": [p.first_identifiers, p.second_identifiers],
            }
            for p in run.look_alikes[:500]
        ],
    }
    path.write_text(json.dumps(body, indent=1, sort_keys=True))
    return path


def write_csv(run: RingRun, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in run.rings:
            f = r.features
            writer.writerow(
                [
                    r.ring_id,
                    r.score,
                    f.get("log_odds"),
                    r.score >= run.params.critical,
                    len(r.members),
                    f.get("density"),
                    ";".join(f.get("kinds", [])),
                    len(r.identifiers),
                    f.get("confirmed_fraud"),
                    f.get("confirmed_fraud_share"),
                    f.get("span_days"),
                    f.get("core_span_days"),
                    f.get("young_account_share"),
                    f.get("hurried_share"),
                    f.get("mean_amount"),
                    f.get("amount_ratio"),
                    r.lineage.get("event", ""),
                    ";".join(r.lineage.get("previous", [])),
                    r.lineage.get("first_run", ""),
                    r.run_id,
                ]
            )
    return path


# -- pictures ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    shape: str
    fill: str
    stroke: str
    title: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Picture:
    ring_id: str
    score: float
    width: int
    height: int
    dots: list[Dot]
    lines: list[Line]
    caption: str


def ring_picture(
    ring: RingRecord,
    links: dict[str, tuple[str, ...]],
    display: dict[str, str],
    statuses: dict[str, str],
    width: int = 420,
    height: int = 320,
) -> Picture:
    """Members (circles) and the identifiers they share (squares), laid out by a
    seeded spring layout so the same ring is always drawn the same way."""
    import networkx as nx

    graph = nx.Graph()
    members = [applicant_node(m) for m in ring.members]
    graph.add_nodes_from(members)
    for nid, users in sorted(links.items()):
        for user in users:
            graph.add_edge(applicant_node(user), nid)
    pos = nx.spring_layout(graph, seed=7, iterations=80) if len(graph) > 1 else {n: (0.0, 0.0) for n in graph}
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    pad = 18.0

    def place(node: str) -> tuple[float, float]:
        x, y = pos[node]
        span_x = (max(xs) - min(xs)) or 1.0
        span_y = (max(ys) - min(ys)) or 1.0
        return (
            round(pad + (x - min(xs)) / span_x * (width - 2 * pad), 1),
            round(pad + (y - min(ys)) / span_y * (height - 2 * pad), 1),
        )

    lines = []
    for a, b in sorted(graph.edges()):
        (x1, y1), (x2, y2) = place(a), place(b)
        lines.append(Line(x1, y1, x2, y2))
    dots = []
    for node in sorted(graph.nodes()):
        x, y = place(node)
        status = statuses.get(node, "")
        text = display.get(node, "") or node
        if node_kind(node) == "applicant":
            fill = MEMBER_COLOURS.get(status, MEMBER_COLOURS[""])
            dots.append(Dot(x, y, "circle", fill, "#ffffff", f"applicant {text}{_status_text(status)}"))
        else:
            kind = node_kind(node)
            stroke = "#d62728" if status == "confirmed_fraud" else "#ffffff"
            dots.append(
                Dot(
                    x,
                    y,
                    "square",
                    KIND_COLOURS.get(kind, "#999999"),
                    stroke,
                    f"{kind} {text} ({len(links.get(node, ()))} members){_status_text(status)}",
                )
            )
    fraud = sum(1 for m in members if statuses.get(m) == "confirmed_fraud")
    caption = (
        f"{len(members)} members, {len(links)} shared identifiers "
        f"({', '.join(ring.features.get('kinds', []))}), {fraud} confirmed fraud"
    )
    return Picture(ring.ring_id, ring.score, width, height, dots, lines, caption)


def _status_text(status: str) -> str:
    return f" [{status.replace('_', ' ')}]" if status else ""


# -- distributions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str


@dataclass(frozen=True)
class Histogram:
    title: str
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    marker: float | None
    legend: list[tuple[str, str]]


def histogram(
    title: str,
    series: Sequence[tuple[str, str, Sequence[float]]],
    lo: float,
    hi: float,
    bins: int,
    marker: float | None = None,
    width: int = 520,
    height: int = 200,
) -> Histogram:
    """Stacked histogram of several named series on [lo, hi]."""
    step = (hi - lo) / bins
    counts = [[0] * bins for _ in series]
    for s, (_, _, values) in enumerate(series):
        for v in values:
            b = min(bins - 1, max(0, int((v - lo) / step))) if step else 0
            counts[s][b] += 1
    peak = max((sum(c[b] for c in counts) for b in range(bins)), default=0) or 1
    left, bottom, top = 30.0, 20.0, 10.0
    plot_w, plot_h = width - left - 10, height - bottom - top
    bars: list[Bar] = []
    for b in range(bins):
        base = 0
        for s, (name, colour, _) in enumerate(series):
            n = counts[s][b]
            if n:
                h = plot_h * n / peak
                y = top + plot_h * (1 - (base + n) / peak)
                bars.append(
                    Bar(
                        round(left + b * plot_w / bins, 1),
                        round(y, 1),
                        round(plot_w / bins - 1, 1),
                        round(h, 1),
                        colour,
                        f"{name}: {n} in [{lo + b * step:.2f}, {lo + (b + 1) * step:.2f})",
                    )
                )
            base += n
    ticks = [(round(left + i * plot_w / 4, 1), f"{lo + i * (hi - lo) / 4:g}") for i in range(5)]
    where = round(left + (marker - lo) / (hi - lo) * plot_w, 1) if marker is not None and hi > lo else None
    return Histogram(title, width, height, bars, ticks, where, [(name, colour) for name, colour, _ in series])


# -- the page -------------------------------------------------------------------------------------------
def write_html(run: RingRun, store: GraphStore, path: Path, top: int = 12) -> Path:
    shown = run.rings[:top]
    nodes = sorted({applicant_node(m) for r in shown for m in r.members} | {n for r in shown for n in r.identifiers})
    display = store.node_display(nodes) if nodes else {}
    statuses = {n: lab.status for n, lab in store.labels(nodes).items()} if nodes else {}
    pictures = [ring_picture(r, run.links.get(r.ring_id, {}), display, statuses) for r in shown]

    reported = {c.members for c in run.candidates if c.reported(run.params)}
    scores = [
        ("reported rings", "#d62728", [c.score for c in run.candidates if c.members in reported]),
        (
            "below threshold",
            "#1f77b4",
            [c.score for c in run.candidates if c.members not in reported and not c.scripted],
        ),
        ("scripted bursts", "#ff7f0e", [c.score for c in run.candidates if c.scripted]),
    ]
    sizes = [len(r.members) for r in run.rings]
    size_hi = float(max(sizes, default=10))
    charts = [
        histogram(
            "Ring score of every group of at least "
            f"{run.params.min_members} linked applicants (threshold {run.params.threshold:g})",
            scores,
            0.0,
            1.0,
            20,
            run.params.threshold,
        ),
        histogram(
            "Size of reported rings",
            [("rings", "#9467bd", sizes)],
            0.0,
            max(10.0, size_hi + 1),
            min(30, max(5, int(size_hi) + 1)),
        ),
    ]
    logit = [
        ("reported rings", "#d62728", [_logit(s) for s in scores[0][2]]),
        ("below threshold", "#1f77b4", [_logit(s) for s in scores[1][2]]),
    ]
    charts.append(
        histogram(
            "Ring score on the log-odds scale (clipped to [-15, 15])",
            logit,
            -15.0,
            15.0,
            30,
            _logit(run.params.threshold),
        )
    )

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template(TEMPLATE).render(
        run=run,
        summary=run.summary(),
        rings=run.rings,
        pictures=pictures,
        charts=charts,
        scripted=[c for c in run.candidates if c.scripted],
        critical=run.params.critical,
        strengths=sorted(run.params.weights),
        weights=run.params.weights,
    )
    path.write_text(html, encoding="utf-8")
    return path


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return max(-15.0, min(15.0, math.log(p / (1 - p))))


def write_report(run: RingRun, store: GraphStore, out: Path, top: int = 12) -> dict[str, Path]:
    """Write ``rings.json``, ``rings.csv`` and ``report.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with collector_paused():
        return {
            "json": write_json(run, out / "rings.json"),
            "csv": write_csv(run, out / "rings.csv"),
            "html": write_html(run, store, out / "report.html", top),
        }
