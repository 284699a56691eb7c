# ringsight: two commands do all the set-up on a fresh machine.
#   make demo   venv + install + replay the checked-in sample through the desk (decisions, alerts,
#               rings, cases) + serve on :8000 (API, docs, console); make demo PORT=8123 for another port
#   make test   venv + dev extras + Chromium + a local Neo4j with GDS + lint + types + all tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO_DB ?= sqlite:///data/demo.db
NEO4J_PORT ?= 7687

.PHONY: demo test lint types install install-dev browser bench-tools neo4j neo4j-build neo4j-stop bench model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# PORT=8123 make demo works too. The store is $(DEMO_DB) unless RINGSIGHT_GRAPH_URL names another
# (the demo refuses a store that holds other applications than the sample's).
demo: install
	RINGSIGHT_GRAPH_URL=$${RINGSIGHT_GRAPH_URL:-$(DEMO_DB)} $(BIN)/ringsight demo --port $(PORT)

# Debian's Chromium and ChromeDriver for the console's browser tests.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Debian's wrk, the HTTP load generator of bench/bench_load.py.
bench-tools:
	@if ! command -v wrk >/dev/null; then \
	  echo "installing Debian wrk"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; \
	fi

neo4j-build:
	$(PYTHON) tools/neo4j_local.py build

neo4j: neo4j-build
	$(PYTHON) tools/neo4j_local.py start --port $(NEO4J_PORT)

neo4j-stop:
	$(PYTHON) tools/neo4j_local.py stop

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install-dev
	$(BIN)/mypy

test: install-dev browser neo4j-build
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@url=$$($(PYTHON) tools/neo4j_local.py start --port $(NEO4J_PORT) | tail -n 1) || exit 1; \
	echo "Neo4j at $$url"; \
	RINGSIGHT_TEST_NEO4J_URL=$$url $(BIN)/pytest; status=$$?; \
	$(PYTHON) tools/neo4j_local.py stop; exit $$status

bench: install-dev bench-tools
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_rings.py --sizes 100000
	$(BIN)/python bench/bench_neo4j_load.py --sizes 100000 --baseline-rows 10000
	$(BIN)/python bench/bench_load.py --applications 100000 --holdout 5000 --duration 10s

# Retrain the shipped model on a seed the tests never evaluate on. C = 0.3: the same ranking on dev seeds
# as C = 1 with smaller weights, so legitimate sharing unlike the generator's is banded lower (README).
model: install
	$(BIN)/ringsight generate --applications 30000 --seed 101 --out out/train-101
	$(BIN)/ringsight train out/train-101 --regularisation 0.3 --out detectors/models/default.json

clean:
	rm -rf $(VENV) .neo4j out data/demo.db* tools/neo4j-launcher/target
