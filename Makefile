# llmeval: `make demo` and `make test` each set everything up from a fresh machine, then run.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL := fixtures/models/support-tiny
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test bench bench-peers lint chromium clean

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	@echo "== setting up $(VENV) (first time: ~2 min, ~2.1 GB)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(MODEL)/build-stamp.json: $(VENV)/.installed fixtures/build_models.py fixtures/data/faq.csv fixtures/data/faq_paraphrased.csv fixtures/data/articles.jsonl
	@echo "== building the embedded demo model (seeded, offline, ~1-2 min on 2 cores)"
	$(PY) fixtures/build_models.py --if-stale

chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "== installing Debian's chromium for the HTML report tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  { echo "could not install chromium (needs root and Debian's package registry)"; exit 1; }; }

setup: $(VENV)/.installed $(MODEL)/build-stamp.json

# Exit 0 when the run completed (failed cases and gates are an outcome the demo reports);
# non-zero when something broke (collection error, backend that cannot load, internal error).
demo: setup
	@mkdir -p reports/demo
	@set +e; $(PY) -m pytest suites/ -p no:cacheprovider -o console_output_style=classic \
	  --junitxml reports/demo/junit.xml --llmeval-results reports/demo/results.jsonl \
	  --llmeval-html reports/demo/report.html --llmeval-baseline fixtures/baselines/demo.json; status=$$?; \
	if [ $$status -le 1 ]; then echo "== demo finished (pytest exit $$status): reports/demo/{results.jsonl,junit.xml,report.html}"; exit 0; \
	else echo "== demo broke: pytest exit $$status"; exit $$status; fi

test: setup chromium
	$(PY) -m ruff check llmeval tests bench
	$(PY) -m mypy
	$(PY) -m pytest -p no:cacheprovider -q -n 2

bench: setup
	$(PY) bench/run.py
	@if [ -n "$(PEERS)" ]; then $(MAKE) --no-print-directory bench-peers; fi

# llmeval vs. a naive loop, lm-evaluation-harness and DeepEval (`make bench PEERS=1` runs it after the bench);
# the peers go into throwaway venvs under .bench-venvs/ (first time: a few minutes each). PEERS_ARGS=--only naive,llmeval
bench-peers: setup
	$(PY) bench/peers_bench.py $(PEERS_ARGS)

lint: setup
	$(PY) -m ruff check llmeval tests bench
	$(PY) -m mypy

clean:
	rm -rf .llmeval reports/demo $(MODEL)
