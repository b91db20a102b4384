"""The example choreographies: real services that consume and produce through
Kafka, used by ``choreo demo``, the fixtures and the tests.

- ``orders``, ``signups``, ``videos``: one module per choreography.
- ``runtime``: what a service is (consumer group + handler), ``reactor``: the
  fault knobs applied around a handler, ``faults``: the knobs themselves.
- ``live``: runs the services as real consumers/producers (threads);
  ``simulate``: the same handlers on a simulated clock (deterministic fixtures).
- ``truth``: the ground truth each run records.
"""
