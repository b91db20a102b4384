"""The query layer: the one set of record types (``records``) and the read
helpers that the CLI, the dashboard, exports and reports all consume."""
