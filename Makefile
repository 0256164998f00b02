# Everything a fresh machine needs is installed by these targets (Python 3.11 and make are assumed).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast bench chromium

# Two stamps: `make demo` installs the runtime only (pyproject `dependencies`); `make test` adds the
# test extras (pytest, Playwright, schemathesis, taky, ...) on top, so `make test` after `make demo` adds them.
$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3
	$(BIN)/pip install -q -e .
	$(BIN)/python -m triwarn.tracking.kernel_cache  # the tracker's kernels compiled now, not in the first run
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed tests/warn/node_cot/package-lock.json
	$(BIN)/pip install -q -e '.[test]'
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)  # as root, like chromium
	cd tests/warn/node_cot && npm ci --no-audit --no-fund --loglevel=error  # @tak-ps/node-cot for tests/warn
	touch $@

# The main job: `triwarn demo`, the 2022-10-04 IRBM overflight of Aomori as an exercise with three
# nations' nodes sharing over an embedded NATS network (US hub) at about 10x real time; it serves the
# operator UI (URL printed), and ends by printing the after-action report's path.
demo: $(BIN)/.installed
	$(BIN)/triwarn demo

# The browser tests need Debian's chromium (and CJK fonts for readable screenshots); installed as root.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)

test: $(BIN)/.installed-test chromium
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/pytest

# The pure core only (under 90 s on 2 cores): everything but the tests marked slow (NATS servers, Chromium,
# whole exercises and replays, CLI subprocesses); no browser needed. `make test` still runs everything.
test-fast: $(BIN)/.installed-test
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/pytest -m "not slow"

bench: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/run_all.py
