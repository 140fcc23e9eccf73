# studio — `make run` starts the studio, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Python >= 3.12: the one .python-version selects (pyenv), else the newest on PATH.
PYTHON ?= $(shell for p in "$$(pyenv which python 2>/dev/null)" python3.13 python3.12 "$$HOME/.pyenv/versions/3.12.1/bin/python" python3; do \
	[ -n "$$p" ] && command -v "$$p" >/dev/null 2>&1 && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "studio needs Python 3.12 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.lock
	@touch $@ $(VENV)/.installed

.PHONY: install
install: $(VENV)/.installed

# The model side's own venv: the child `python -m videos_app.diffusion` runs in it (torch,
# diffusers; requirements-gpu.txt). Python 3.11, where this machine has a CPU build of torch;
# a GPU host may set PYTHON_GPU to a 3.11 or 3.12 and install a CUDA torch (docs/gpu.md).
PYTHON_GPU ?= $(shell p="$$(pyenv root 2>/dev/null)/versions/3.11.7/bin/python"; \
	if [ -x "$$p" ]; then echo "$$p"; else command -v python3.11; fi)
VENV_GPU := .venv-gpu

$(VENV_GPU)/.installed: requirements-gpu.txt
	@test -n "$(PYTHON_GPU)" || { echo "the GPU venv needs Python 3.11 or 3.12 (set PYTHON_GPU)"; exit 1; }
	test -x $(VENV_GPU)/bin/python || $(PYTHON_GPU) -m venv $(VENV_GPU)
	$(VENV_GPU)/bin/pip install --quiet -r requirements-gpu.txt
	@touch $@

.PHONY: setup
setup: install
	umask 077 && $(BIN)/python manage.py migrate --noinput
	umask 077 && $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	umask 077 && $(BIN)/python manage.py ensureadmin

.PHONY: run
run: setup
	exec $(BIN)/python -m studio.serve

# A GPU worker: the diffusers engine's jobs, one at a time (docs/gpu.md). A GPU host needs
# only DATABASE_URL, REDIS_URL and the media bucket's settings, and the GPU venv.
.PHONY: worker-gpu
worker-gpu: $(VENV)/.installed $(VENV_GPU)/.installed
	exec $(BIN)/python manage.py worker --gpu

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium).
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

.PHONY: lint
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy studio videos_app

# The official Node SDK for tests/test_api_node.py (pinned in tests/node/package-lock.json).
tests/node/node_modules/.installed: tests/node/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The suite on the embedded defaults, then again on PostgreSQL + the Redis broker. Each
# pass runs in TEST_PROCESSES processes (pytest-xdist; a test file stays in one process, so
# its module's live studio and browser start once), each with its own broker queue on the
# shared Redis; the tests that stop PostgreSQL or Redis then run alone.
TEST_PROCESSES ?= 2
PYTEST_PARALLEL = --dist loadfile -m "not exclusive" \
	$(foreach n,$(shell seq $(TEST_PROCESSES)),--tx popen//env:STUDIO_QUEUE_NAME=studio-test$(n))

.PHONY: test
test: lint chromium tests/node/node_modules/.installed $(VENV_GPU)/.installed
	$(BIN)/pytest $(PYTEST_PARALLEL)
	$(BIN)/pytest -m exclusive
	bin/with-services $(BIN)/pytest $(PYTEST_PARALLEL)
	bin/with-services $(BIN)/pytest -m exclusive

# Live smoke tests against the real vendors (spends real money; never run by make test or
# CI): one short video per vendor whose key is set (smoke/test_vendor_smoke.py says which).
.PHONY: smoke
smoke: $(VENV)/.installed-dev
	$(BIN)/pytest smoke -v -rs

.PHONY: bench
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_extend.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_upstream.py

# The README's screenshots (docs/images/*.png), taken from a throwaway live studio.
.PHONY: screenshots
screenshots: $(VENV)/.installed-dev chromium
	$(BIN)/python bin/screenshots
