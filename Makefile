# Model Lifecycle Lab: every target sets up what it needs.
# Nothing here needs an activated virtual environment.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
MODE   ?= learner
HUB_PORT ?= 8000
# JupyterHub's proxy, from npm, installed into the venv's folder (rm -rf .venv resets it).
PROXY  := $(VENV)/node/node_modules/.bin/configurable-http-proxy
LESSONS := $(notdir $(wildcard solutions/[0-9][0-9]_*))

# nbgrader calls `alembic` by name: keep the venv's tools first on PATH.
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup hub-setup hub lab test release grade lint format benchmark clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else "Python 3.10 or newer is needed; found %d.%d. Run: make PYTHON=python3.12 ..." % v[:2])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

hub-setup: setup $(PROXY)

$(PROXY): lifecycle/hub/proxy/package.json lifecycle/hub/proxy/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make hub needs npm and Node.js 20 or newer: apt-get install nodejs npm"; exit 1; }
	mkdir -p $(VENV)/node
	cp lifecycle/hub/proxy/package.json lifecycle/hub/proxy/package-lock.json $(VENV)/node/
	cd $(VENV)/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The workshop's JupyterHub (docs/instructor.md): make hub [CLASS=class.txt] [HUB_PORT=8000]
hub: hub-setup
	$(PY) -m lifecycle.hub --port $(HUB_PORT) $(if $(CLASS),--class $(CLASS)) $(if $(HUB_IP),--ip $(HUB_IP))

lab: setup
	$(PY) -m lifecycle.lab --port $(PORT) --mode $(MODE) $(if $(GRADED),--graded $(GRADED))

test: hub-setup
	$(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder

release: setup
	@# Keep a copy of anything in course/ that release would overwrite (a learner's answers?).
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- course)" ]; then \
	  keep=.lab/course-before-release-$$(date +%Y%m%d-%H%M%S); mkdir -p $$keep; \
	  git status --porcelain -- course | cut -c4- | while read -r path; do \
	    test -e "$$path" && mkdir -p "$$keep/$$(dirname "$$path")" && cp -r "$$path" "$$keep/$$path"; \
	  done; \
	  echo "course/ had changes; a copy of the changed files is in $$keep/"; \
	fi
	@for dir in course/*/; do \
	  test -d solutions/$$(basename $$dir) || rm -rf $$dir; \
	done
	@db=$$(mktemp -d) && rm -f $(VENV)/release-gradebook.db && \
	for lesson in $(LESSONS); do \
	  $(BIN)/nbgrader generate_assignment $$lesson --force --log-level=WARN \
	    --db=sqlite:///$$db/release-gradebook.db || { rm -rf $$db; exit 1; }; \
	done; rm -rf $$db
	cp solutions/README.md course/README.md
	cp docs/glossary.md course/glossary.md

grade: setup
	$(PY) examples/build_class.py out/example-submissions
	$(PY) -m autograder grade out/example-submissions --out out/example-class --due 2026-11-20T18:00Z

lint: setup
	$(PY) -m ruff check .

format: setup
	$(PY) -m ruff format lifecycle autograder tests benchmarks

benchmark: setup
	$(PY) benchmarks/grading.py
	$(PY) benchmarks/service.py
	$(PY) benchmarks/drift.py
	$(PY) benchmarks/scaling.py

clean:
	rm -rf out artifacts .pytest_cache
