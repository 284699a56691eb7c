"""Signals from the graph, the score, monitoring, batch ring detection and evaluation.

Detectors read only through :class:`graph.store.GraphStore`; they never import a
backend and know nothing of HTTP.
"""
