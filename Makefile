# One-command set-up: `make run` (the API locally) and `make test` (the whole suite).
# Both create .venv when missing and install the pinned requirements into it; `make run`
# only what the service and its local server need, `make test` the CDK toolchain too.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
INFRA_INSTALLED := $(VENV)/.installed-infra

PORT ?= 8000
DYNAMODB_PORT ?= 8001
export PORT DYNAMODB_PORT

.PHONY: run test bench fuzz openapi venv clean

venv: $(INSTALLED)

$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(INFRA_INSTALLED): $(INSTALLED) infra/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	@touch $@

run: $(INSTALLED)
	$(PY) scripts/run_local.py

test: $(INSTALLED) $(INFRA_INSTALLED)
	$(PY) -m pytest

# A longer schemathesis run than the one in `make test`, with a fresh seed each time.
fuzz: $(INSTALLED)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} FUZZ_SEED=$${FUZZ_SEED-} $(PY) -m pytest -q -s tests/test_fuzz.py

# Regenerate the OpenAPI document from the code (a test fails when it is stale).
openapi: $(INSTALLED)
	PAIRINGS_TABLE=unused DIRECTORY_TABLE=unused AWS_DEFAULT_REGION=us-east-1 \
		$(PY) -m chalicelib.openapi > docs/openapi.json

bench: $(INSTALLED)
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache

# Infrastructure targets (synth, package, deploy) live beside the CDK app.
-include infra/deploy.mk
