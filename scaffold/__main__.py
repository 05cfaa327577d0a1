"""``python -m scaffold``: the same CLI as the ``scaffold`` command."""

from .cli import main

main()
