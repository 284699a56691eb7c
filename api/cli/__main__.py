"""``python -m api.cli``: the ``ringsight`` command."""

from api.cli import main

main()
