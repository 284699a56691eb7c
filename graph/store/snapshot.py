"""The scoring snapshot assembled from point reads: what
:meth:`graph.store.reader.GraphReader.snapshot` means.

Backends answer ``snapshot`` in one read (one Cypher query, or index lookups);
this assembly is the definition they are held to in the contract tests, and
what the unit-test fakes use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graph.normalise import NormalisedApplication
from graph.store.reader import GraphReader
from graph.store.records import Label, ScoringSnapshot
from graph.vocabulary import USAGE_WINDOW, applicant_node

LabelRead = Callable[[Sequence[str]], dict[str, Label]]


def assemble(
    reader: GraphReader, labels: LabelRead, app: NormalisedApplication, as_of: float, hub_limit: int
) -> ScoringSnapshot:
    """The snapshot of ``app`` as of ``as_of`` from ``reader``'s point reads and ``labels``."""
    subject = app.applicant_key
    own = {i.node_id for i in app.identifiers}
    earlier = reader.applicant_identifiers([subject], as_of).get(subject, ())
    identifiers = tuple(sorted(own.union(earlier)))
    usage = reader.identifier_usage(identifiers, as_of, USAGE_WINDOW, hub_limit)
    hop2 = sorted({m for use in usage.values() for m in use.members} - {subject})
    neighbours = reader.applicant_identifiers(hop2, as_of)
    hop3 = sorted({n for ids in neighbours.values() for n in ids} - set(identifiers))
    far = reader.identifier_usage(hop3, as_of, USAGE_WINDOW, hub_limit)
    far_usage = {n: use for n, use in far.items() if use.members}
    hop4 = {m for use in far_usage.values() for m in use.members}
    nodes = {applicant_node(subject), *identifiers, *hop3, *(applicant_node(k) for k in set(hop2) | hop4)}
    history = tuple(
        a for a in reader.applicant_applications(subject, before=as_of) if a.application_id != app.application_id
    )
    return ScoringSnapshot(
        applicant_key=subject,
        as_of=as_of,
        identifiers=identifiers,
        usage=usage,
        neighbours={k: neighbours.get(k, ()) for k in hop2},
        far_usage=far_usage,
        labels=labels(sorted(nodes)),
        history=history,
    )
