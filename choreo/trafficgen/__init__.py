"""Scenario generator with ground truth, and a scorer of reconstruction
(issue 12): the measuring instrument for choreo's verdicts on traffic it
was not built with.

    from choreo.trafficgen.knobs import Knobs, corner
    from choreo.trafficgen.traffic import generate      # -> Generated(spec, records, truth, header_shapes)
    from choreo.trafficgen.run import write, choreo_import, round_trip
    from choreo.trafficgen.score import score, as_dict   # score(truth, "s.duckdb") -> Score

CLI: ``python -m choreo.trafficgen generate|score|run|rescore|table|knobs|baseline``
(``choreo.trafficgen.cli:cli`` is the click group).
Imported only by the CLI and tests.
"""
