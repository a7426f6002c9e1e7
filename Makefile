# Every target creates what it needs from the project's own files: a fresh clone needs only
# Python 3.11, and (for the Azurite-backed tests) Node.js with npm.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

NODE_STAMP := node_modules/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed-$(shell sha1sum requirements-infra.txt | cut -c1-12)

.PHONY: demo test lint format infra-check bench clean controls-docs

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

# Azurite (the Storage emulator the Functions tests run against), @kusto/language-service-next
# (the KQL analyser of make infra-check and tests/infra) and Microsoft's SARIF Multitool
# (validates --format sarif), pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## demo: start the embedded simulated estate and scan it (the first thing to run)
demo: $(STAMP)
	$(BIN)/python -m shared demo

## test: every test, offline. Gets Debian's Chromium first (the HTML report is rendered in it):
## installed, or apt-get install as root (.ci/debian_chromium.sh); no Chromium fails the target.
test: $(STAMP) $(NODE_STAMP)
	@CHROMIUM="$$(bash .ci/debian_chromium.sh)" && export CHROMIUM && \
	$(BIN)/python -m pytest

## bench: performance on the simulated estate (100 x 100 nodes, 50 ms latency) against the kubectl and
## kubernetes-client loops; prints the table, writes bench/results.json (docs/benchmarks.md). Gets
## Debian's kubectl (package kubernetes-client) first: installed, or unpacked into bench/out.
bench: $(STAMP)
	@KUBECTL="$$(bash bench/debian_kubectl.sh bench/out)" && \
	$(BIN)/python -m bench --kubectl "$$KUBECTL" --output bench/results.json

## lint: formatting, lint and strict typing
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# checkov in its own venv: its pins (pydantic, aiohttp, boto3, ...) are not the app's.
$(INFRA_STAMP): requirements-infra.txt
	@test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	@rm -f $(INFRA_VENV)/.installed-* && touch $@

## infra-check: checkov on infra/ (Bicep), offline; fails on a failed check, a parsing error or a skip without a reason;
## then every KQL query (alerts, workbook, docs) through Microsoft's KQL analyser (tests/infra/kql.py)
infra-check: $(INFRA_STAMP) $(STAMP) $(NODE_STAMP)
	CHECKOV=$(INFRA_VENV)/bin/checkov infra/checkov.sh
	$(BIN)/python -m tests.infra.kql

## controls-docs: regenerate docs/controls/ (one page per control) from the control tables
controls-docs: $(STAMP)
	@rm -f docs/controls/*.md
	$(BIN)/python -c "import pathlib, shared.core.catalogue as c; d = pathlib.Path('docs/controls'); d.mkdir(exist_ok=True); [(d / n).write_text(t, encoding='utf-8') for n, t in c.pages().items()]"

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache node_modules
