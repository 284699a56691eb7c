"""The ``ringsight`` Typer application: every command and command group, registered in
the order ``ringsight --help`` lists them."""

from __future__ import annotations

import typer

from api.cli.audit import audit_app
from api.cli.datasets import adapt, generate
from api.cli.demo import demo
from api.cli.evaluation import evaluate, train
from api.cli.load import load
from api.cli.models import models_app, outcomes_app
from api.cli.rings import rings_app
from api.cli.score import score, stats
from api.cli.serve import serve
from api.cli.work import work

app = typer.Typer(help="ringsight: graph fraud scoring for lenders.", no_args_is_help=True)
for command in (generate, load, score, stats, train, evaluate, serve, demo, adapt, work):
    app.command()(command)
app.add_typer(rings_app, name="rings")
app.add_typer(models_app, name="models")
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(audit_app, name="audit")
