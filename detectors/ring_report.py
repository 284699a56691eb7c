"""The report of a ring-detection run.

``rings.json`` and ``rings.csv`` are for machines (one ring per entry or row,
with its rank, features and lineage); ``report.html`` is for people: a summary,
the rings ranked by their score (the expected loss, :mod:`detectors.ring_priority`)
with why each scored as it did and its members, a picture of each top ring
(members, the identifiers they share, confirmed fraud highlighted) and the
distributions of score, confidence and size on charts with labelled axes.

The page is self-contained (inline SVG, CSS and a few lines of JavaScript),
opens offline and fits a 1400 px window without scrolling sideways. A person
is shown only by masked displays (``1101**********1234``) with a short tag of
the keyed hash that tells two equal masks apart, never by raw PII.
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

from detectors.ring_priority import identifiers_text
from detectors.rings import RingRun
from graph.memory import collector_paused
from graph.store import GraphStore, RingRecord
from graph.vocabulary import applicant_node, node_kind

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "ring_report.html.j2"

CSV_COLUMNS: tuple[str, ...] = (
    "rank",
    "ring_id",
    "score",
    "expected_loss",
    "exposure",
    "exposure_loans",
    "confidence",
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
    "summary",
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


def ring_dict(ring: RingRecord, critical: float, rank: int) -> dict[str, Any]:
    """One ring as JSON: rank, member and identifier node ids, features and lineage."""
    return {
        "rank": rank,
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
        "rings": [ring_dict(r, run.params.critical, rank) for rank, r in enumerate(run.rings, 1)],
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
        for rank, r in enumerate(run.rings, 1):
            f = r.features
            writer.writerow(
                [
                    rank,
                    r.ring_id,
                    r.score,
                    f.get("expected_loss"),
                    f.get("exposure"),
                    f.get("exposure_loans"),
                    f.get("confidence"),
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
                    f.get("summary", ""),
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
        text = shown_as(node, display)
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


def shown_as(node_id: str, display: dict[str, str]) -> str:
    """A node as a person reads it: its masked display and a short tag of its keyed
    hash (``1101**********1234 #3f9a``), so that two equal masks are told apart."""
    key = node_id.partition(":")[2]
    return f"{display.get(node_id) or node_kind(node_id)} #{key[:4]}"


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
class Tick:
    at: float
    """Pixel position along the axis."""
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    label: str


@dataclass(frozen=True)
class Histogram:
    """A stacked histogram laid out for SVG: the plot box, bars, both axes with
    their ticks and titles, vertical markers (threshold, critical) and a legend."""

    title: str
    x_label: str
    y_label: str
    width: int
    height: int
    box: tuple[float, float, float, float]
    """Plot area: left, top, right, bottom (pixels)."""
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    markers: list[Marker]
    legend: list[tuple[str, str]]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(0, 37)
    [0.0, 10.0, 20.0, 30.0, 40.0]
    """
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks: list[float] = []
    value = first
    while value < hi + step * 0.5:
        ticks.append(round(value, 10) + 0.0)
        value += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:,.0f}"


def histogram(
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[tuple[str, str, Sequence[float]]],
    lo: float,
    hi: float,
    bins: int,
    markers: Sequence[tuple[float, str]] = (),
    width: int = 400,
    height: int = 250,
) -> Histogram:
    """Stacked histogram of several named series on [lo, hi] (values outside are
    counted in the first or last bin), with a count axis rounded up to a tick."""
    step = (hi - lo) / bins
    counts = [[0] * bins for _ in series]
    for s, (_, _, values) in enumerate(series):
        for v in values:
            b = min(bins - 1, max(0, int((v - lo) / step))) if step else 0
            counts[s][b] += 1
    peak = max((sum(c[b] for c in counts) for b in range(bins)), default=0)
    y_values = [t for t in nice_ticks(0.0, float(max(peak, 1)), 4) if t == int(t)] or [0.0, 1.0]
    top_count = max(y_values[-1], 1.0)
    left, top, right, bottom = 56.0, 12.0, float(width - 14), float(height - 46)
    plot_w, plot_h = right - left, bottom - top

    def x_at(value: float) -> float:
        return round(left + (value - lo) / (hi - lo) * plot_w, 1)

    def y_at(count: float) -> float:
        return round(bottom - count / top_count * plot_h, 1)

    bars: list[Bar] = []
    for b in range(bins):
        base = 0
        for s, (name, colour, _) in enumerate(series):
            n = counts[s][b]
            if n:
                y1, y0 = y_at(base + n), y_at(base)
                bars.append(
                    Bar(
                        round(left + b * plot_w / bins + 0.5, 1),
                        y1,
                        round(max(plot_w / bins - 1, 0.5), 1),
                        round(y0 - y1, 1),
                        colour,
                        f"{name}: {n} in [{lo + b * step:.2f}, {lo + (b + 1) * step:.2f})",
                    )
                )
            base += n
    x_ticks = [Tick(x_at(v), _tick_label(v)) for v in nice_ticks(lo, hi, 5) if lo - 1e-9 <= v <= hi + 1e-9]
    y_ticks = [Tick(y_at(v), f"{v:.0f}") for v in y_values]
    shown = [Marker(x_at(value), label) for value, label in markers if lo <= value <= hi]
    return Histogram(
        title,
        x_label,
        y_label,
        width,
        height,
        (left, top, right, bottom),
        bars,
        x_ticks,
        y_ticks,
        shown,
        [(name, colour) for name, colour, _ in series],
    )


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return max(-15.0, min(15.0, math.log(p / (1 - p))))


def charts(run: RingRun) -> list[Histogram]:
    """Score of reported rings, confidence of every measured group, size of reported rings."""
    params = run.params
    reported = [c for c in run.candidates if c.reported(params)]
    below = [c for c in run.candidates if not c.reported(params) and not c.scripted]
    scripted = [c for c in run.candidates if c.scripted]
    sizes = [len(r.members) for r in run.rings]
    size_hi = float(max(sizes, default=10))
    return [
        histogram(
            f"Score of the {len(run.rings)} reported rings (ranks them; critical from {params.critical:g})",
            f"ring score (0.5 = expected loss of {params.loss_scale:g} average loans)",
            "rings",
            [("reported rings", "#d62728", [r.score for r in run.rings])],
            0.0,
            1.0,
            20,
            [(params.critical, f"critical {params.critical:g}")],
        ),
        histogram(
            f"Confidence of every group of at least {params.min_members} linked applicants",
            "ring confidence, log-odds (clipped to ±15)",
            "groups",
            [
                ("reported rings", "#d62728", [_logit(c.confidence) for c in reported]),
                ("below threshold", "#1f77b4", [_logit(c.confidence) for c in below]),
                ("scripted bursts", "#ff7f0e", [_logit(c.confidence) for c in scripted]),
            ],
            -15.0,
            15.0,
            30,
            [(_logit(params.threshold), f"reported from {params.threshold:g}")],
        ),
        histogram(
            "Size of reported rings",
            "members",
            "rings",
            [("rings", "#9467bd", sizes)],
            0.0,
            max(10.0, size_hi + 1),
            min(30, max(5, int(size_hi) + 1)),
        ),
    ]


# -- the page -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberView:
    text: str
    status: str


@dataclass(frozen=True)
class RingRow:
    rank: int
    ring: RingRecord
    critical: bool
    members: list[MemberView]
    shared: str


def write_html(run: RingRun, store: GraphStore, path: Path, top: int = 12) -> Path:
    shown = run.rings[:top]
    scripted = [c for c in run.candidates if c.scripted]
    people = {applicant_node(m) for r in run.rings for m in r.members} | {
        applicant_node(m) for c in scripted for m in c.members
    }
    nodes = sorted(people | {n for r in shown for n in r.identifiers})
    display = store.node_display(nodes) if nodes else {}
    statuses = {n: lab.status for n, lab in store.labels(nodes).items()} if nodes else {}
    pictures = [ring_picture(r, run.links.get(r.ring_id, {}), display, statuses) for r in shown]

    def members(keys: Sequence[str]) -> list[MemberView]:
        return [MemberView(shown_as(applicant_node(m), display), statuses.get(applicant_node(m), "")) for m in keys]

    rows = [
        RingRow(
            rank,
            r,
            r.score >= run.params.critical,
            members(r.members),
            identifiers_text(r.features.get("identifier_kinds", {})),
        )
        for rank, r in enumerate(run.rings, 1)
    ]
    bursts = [(c, members(c.members)) for c in scripted]
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template(TEMPLATE).render(
        run=run,
        summary=run.summary(),
        rows=rows,
        pictures=pictures,
        charts=charts(run),
        bursts=bursts,
        params=run.params,
        expected_loss=sum(float(r.features.get("expected_loss", 0.0)) for r in run.rings),
        strengths=sorted(run.params.weights),
        weights=run.params.weights,
    )
    path.write_text(html, encoding="utf-8")
    return path


def write_report(run: RingRun, store: GraphStore, out: Path, top: int = 12) -> dict[str, Path]:
    """Write ``rings.json``, ``rings.csv`` and ``report.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with collector_paused():
        return {
            "json": write_json(run, out / "rings.json"),
            "csv": write_csv(run, out / "rings.csv"),
            "html": write_html(run, store, out / "report.html", top),
        }
