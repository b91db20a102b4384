# The two commands: `make demo` and `make test`. Both create the environment
# from the lock file on first use and install Graphviz's `dot` (and kcat for
# the import tests) where the machine allows.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_READY := (test -x .tools/bin/uv || ($(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv==0.13.9) >/dev/null 2>&1)

.PHONY: demo test lint bench env tools lock clean

demo: env tools
	$(BIN)/choreo demo

test: env tools
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile -q

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "choreo needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the locked wheels in parallel (seconds where pip takes a minute or
	@# more), which keeps `make demo` on a fresh clone under a minute; pip is the fallback.
	if $(UV_READY); then \
		.tools/bin/uv pip install --quiet --python $(BIN)/python --require-hashes --no-deps -r requirements.lock; \
	else \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

tools:
	@sh scripts/install-tools.sh

bench: env tools
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-bench.lock

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock:
	test -x .tools/bin/uv || ($(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv==0.13.9)
	.tools/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --no-header -o requirements.lock
	.tools/bin/uv pip compile pyproject.toml --extra dev --extra bench --generate-hashes --python-version 3.11 --no-header -o requirements-bench.lock

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
