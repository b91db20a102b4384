"""The ground floor: the store, its schema, configuration, errors, logging
and time formatting. It imports nothing above it."""
