# One command for each routine job. A newcomer needs only `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
VENV_BOT  := .venv-bot
PY        := $(VENV)/bin/python
PY_BOT    := $(VENV_BOT)/bin/python
RASA      := $(VENV_BOT)/bin/rasa
MODEL     := models/kefu.tar.gz
N         ?= 100000

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false

.PHONY: help run setup venvs train db test test-backend test-bot test-e2e test-browser browser-deps lint validate eval-nlu tune-fallback nlu-gate bench seed-bulk audit-verify clean

help:
	@echo "make run          start api (:8000), Rasa (:5005) and actions (:5055) with demo data"
	@echo "make test         every test: lint, backend on SQLite+PostgreSQL, api, actions, end to end, NLU floor"
	@echo "make train        train the Rasa model if data or config changed"
	@echo "make lint         ruff + mypy on backend/ and api/"
	@echo "make eval-nlu     held-out NLU evaluation (reports/nlu/)"
	@echo "make tune-fallback  fallback thresholds by cross-validation on data/nlu (reports/nlu/)"
	@echo "make bench        benchmarks (print their figures)"
	@echo "make seed-bulk N=100000   add synthetic customers for load tests"
	@echo "make audit-verify check the audit hash chain"

# --- environments ---------------------------------------------------------
$(VENV)/.installed: requirements/api.txt requirements/dev.txt
	@test -x $(PY) || $$(scripts/find-python.sh 3.11) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	@touch $@

$(VENV_BOT)/.installed: requirements/bot.txt requirements/bot-dev.txt
	@test -x $(PY_BOT) || $$(scripts/find-python.sh 3.10) -m venv $(VENV_BOT)
	$(PY_BOT) -m pip install -q --upgrade pip
	$(PY_BOT) -m pip install -q -r requirements/bot-dev.txt
	@touch $@

venvs: $(VENV)/.installed $(VENV_BOT)/.installed

# --- model and database ---------------------------------------------------
train: $(VENV_BOT)/.installed
	@scripts/train-if-needed.sh

db: $(VENV)/.installed
	$(PY) -m backend.manage init

setup: venvs train db

run: setup
	@scripts/run.sh

# --- quality ----------------------------------------------------------------
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check backend api actions bot tests scripts bench
	$(VENV)/bin/mypy backend api

validate: $(VENV_BOT)/.installed
	$(RASA) data validate --fail-on-warnings --domain domain.yml --data data -c bot/config.yml

test-backend: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit tests/integration tests/api

# tests/actions is its own pytest root (tests/actions/pytest.ini): the bot venv has Rasa's
# SQLAlchemy 1.4, so the backend fixtures in tests/conftest.py must not be loaded there.
test-bot: $(VENV_BOT)/.installed train
	$(PY_BOT) -m pytest -q -p no:cacheprovider tests/actions
	$(PY_BOT) -m pytest -q -p no:cacheprovider --confcutdir=tests/nlu tests/nlu

test-e2e: venvs train
	$(PY) -m pytest -q tests/e2e

# Browser tests drive Debian's Chromium (no browser download); a Chinese font makes the
# screenshots readable.
browser-deps:
	@test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei)

test-browser: venvs train browser-deps
	$(PY) -m pytest -q tests/browser

nlu-gate: $(VENV_BOT)/.installed train
	$(PY_BOT) scripts/eval_nlu.py --model models --out reports/nlu --min-macro-f1 0.90

test: venvs lint validate test-backend train test-bot test-e2e test-browser nlu-gate
	@echo "make test: all suites passed"

eval-nlu: $(VENV_BOT)/.installed train
	$(PY_BOT) scripts/eval_nlu.py --model models --out reports/nlu

# Trains one NLU model per fold (a few minutes each); never reads the held-out set.
tune-fallback: $(VENV_BOT)/.installed
	$(PY_BOT) scripts/tune_fallback.py --folds 3 --out reports/nlu

# --- operations -------------------------------------------------------------
bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

seed-bulk: db
	$(PY) -m backend.seed_bulk --n $(N)

audit-verify: $(VENV)/.installed
	$(PY) -m backend.audit_verify

clean:
	rm -rf models var reports/nlu
