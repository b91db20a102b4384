"""``python -m choreo.trafficgen``."""

from choreo.trafficgen.cli import main

main()
