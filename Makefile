# One-command entry points. Each creates (or reuses) a local virtual environment in .venv and installs the
# project with the locked dependency versions (requirements.lock), so nothing needs installing by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PLAN   ?= analysis/blinatumomab-salvage.yml
STAMP  := $(VENV)/.installed

.PHONY: report test check analyze bench clean-venv lock

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	@# an editable install is not byte-compiled (pip compiles only what it copies): compile the engine once,
	@# so that a cold render does not (0.8 s of its 6.7 s where PYTHONDONTWRITEBYTECODE is set)
	$(BIN)/python -m compileall -q src
	@touch $(STAMP)

report: $(STAMP)  ## render the flagship report into report/<study>/<version>/
	$(BIN)/trialpress render $(PLAN)

check: $(STAMP)
	$(BIN)/trialpress check $(PLAN)

analyze: $(STAMP)
	$(BIN)/trialpress analyze $(PLAN) --out build/ard

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lock:  ## refresh requirements.lock from the current environment
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' | sort > requirements.lock

clean-venv:
	rm -rf $(VENV)
