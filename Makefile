# The two commands: `make demo` and `make test`. Both create the environment
# from the lock file on first use and install Graphviz's `dot` (and kcat for
# the import tests) where the machine allows.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
# The native extension (choreo._native) is rebuilt when the crate changes.
NATIVE_SRC := native/Cargo.toml native/Cargo.lock $(shell find native/src -name '*.rs' 2>/dev/null)
NATIVE := $(VENV)/.native-built
UV_READY := (test -x .tools/bin/uv || ($(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv==0.13.9) >/dev/null 2>&1)

.PHONY: demo test lint bench env native tools lock clean

demo: env tools
	$(BIN)/choreo demo

test: env tools
	cd native && cargo fmt --check && cargo clippy --release --locked -q -- -D warnings && cargo test --release --locked -q
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 --dist loadfile -q

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

env: $(STAMP) $(NATIVE)

native: $(NATIVE)

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
	rm -f $(VENV)/.installed-* $(NATIVE)
	touch $@

# pip installs choreo in development mode through maturin, which builds the
# crate (release profile, exactly Cargo.lock's versions) into choreo/_native*.so.
# Python edits need no rebuild; a change under native/ rebuilds it.
$(NATIVE): $(STAMP) $(NATIVE_SRC)
	@command -v cargo >/dev/null 2>&1 || { echo "choreo needs a Rust toolchain (cargo) to build its native core: https://rustup.rs" >&2; exit 2; }
	@echo "building choreo's native core with maturin (Rust, release; the first build takes a minute or two)..." >&2
	MATURIN_PEP517_ARGS="--locked" $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
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
