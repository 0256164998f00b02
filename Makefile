# Everything a fresh machine needs is installed by these targets (Python 3.11 and make are assumed).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench chromium

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The main job: a public launch (2022-10-04 IRBM over Aomori) flown, seen by three nations' sensors, and
# replayed through three national nodes sharing over a local NATS network: tracks, fusion, assessment,
# CAP and CoT warnings (status Exercise) in out/demo/replay.
demo: $(BIN)/.installed
	$(BIN)/triwarn trajectory --launch 40.6,126.4 --aim 40.82,140.74 --apogee-km 970 --range-km 4600
	$(BIN)/triwarn simulate src/triwarn/scenarios/2022-10-04-irbm-aomori.yaml --out out/demo --seed 1
	$(BIN)/triwarn replay --sensors out/demo/sensors.yaml --measurements out/demo/measurements.jsonl \
		--out out/demo/replay

# The browser tests need Debian's chromium (and CJK fonts for readable screenshots); installed as root.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)

test: $(BIN)/.installed chromium
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/run_all.py
