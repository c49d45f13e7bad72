# ibov: the two commands that matter are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# `make run FROM=path/to/snapshot.json` reads a saved snapshot instead of calling B3.
FROM   ?=
RUN_ARGS := $(if $(FROM),--from $(FROM),)

.PHONY: run test test-fast setup setup-dev clean infra-lint browser

$(BIN)/ibov: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e . --config-settings editable_mode=compat
	@touch $@

$(VENV)/.dev: pyproject.toml $(BIN)/ibov
	$(BIN)/python -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	@touch $@

setup: $(BIN)/ibov
setup-dev: $(VENV)/.dev

run: $(BIN)/ibov
	$(BIN)/ibov run $(RUN_ARGS)

test: $(VENV)/.dev infra-lint browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r ibovcli glue_scripts lambda -ll
	$(BIN)/python tools/audit.py
	$(BIN)/python -m pytest -q -n 2

# the quick part of the suite, for the edit-test loop (no Spark, no subprocess-heavy tests): ~2 minutes
test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -q -n 2 -m "not live and not spark and not slow"

# The browser tests (tests/test_report_browser.py) open the report in a headless Chromium. Installed
# from Debian's packages when there is none and we are root with apt-get; never fails: without a
# browser those tests skip and say why.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	   || command -v google-chrome >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the browser tests (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "chromium could not be installed: the browser tests will be skipped"; \
	else echo "no chromium, and not root with apt-get: the browser tests will be skipped"; fi

# cfn-lint (dev deps) + checkov (heavy: its own venv, created on first use) on the CloudFormation template.
TOOLS ?= .venv-tools
CHECKOV_VERSION ?= 3.3.30
$(TOOLS)/bin/checkov:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q checkov==$(CHECKOV_VERSION)

infra-lint: $(VENV)/.dev $(TOOLS)/bin/checkov
	$(BIN)/python -m ibovcli.aws.namedqueries --check
	$(BIN)/cfn-lint infra/cloudformation.yaml
	$(TOOLS)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f infra/cloudformation.yaml

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
