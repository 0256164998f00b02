# Everything a fresh machine needs is installed by these targets (Python 3.11 and make are assumed).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The main job: a public launch (2022-10-04 IRBM over Aomori) flown, seen by three nations' sensors, tracked.
demo: $(BIN)/.installed
	$(BIN)/triwarn trajectory --launch 40.6,126.4 --azimuth 88 --apogee-km 970 --range-km 4600
	$(BIN)/triwarn simulate src/triwarn/scenarios/2022-10-04-irbm-aomori.yaml --out out/demo --seed 1
	$(BIN)/triwarn track --sensors out/demo/sensors.yaml --measurements out/demo/measurements.jsonl \
		--out out/demo/tracks.jsonl

test: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench
