"""The example choreographies: real services that consume and produce through
Kafka, used by ``choreo demo``, the fixtures and the tests.

- ``orders``, ``signups``, ``videos``: one module per choreography.
- ``runtime``: what a service is (consumer group + handler); ``formats``: the
  record shapes they use; ``reactor``: the fault knobs applied around a
  handler; ``faults``: the knobs; ``scenario``: which choreographies, how
  many sagas, which seed.
- ``live``: runs the services as real consumers/producers (threads);
  ``simulate``: the same handlers on a simulated clock (deterministic).
- ``truth``: the ground truth every run records.
- ``tap``: choreo's collector over a run; ``demo``: `choreo demo` without the
  CLI; ``demo_config``: the choreo.toml describing the services.
- ``record``, ``fixtures``: the recorded runs in fixtures/.
"""
