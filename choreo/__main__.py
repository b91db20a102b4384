"""``python -m choreo``: the command line, as the ``choreo`` script runs it."""

from choreo.cli.main import main

main()
