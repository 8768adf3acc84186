# The README's two commands: `make run` (main job on the sandbox) and `make test` (whole suite).
# Each creates or updates the local virtualenv .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.capnb-installed

.PHONY: run test notebooks venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Main job: the promotion overview for a 5,000-customer sandbox cohort, as one offline HTML
# report under reports/ (the command prints its path). Summaries are kept in .capnb-store, so a
# second run fetches nothing.
run: $(STAMP)
	$(BIN)/capnb report promotion_overview -p customers 5000 -o reports/promotion_overview.html

test: $(STAMP)
	$(BIN)/python -m pytest

# Re-execute the committed notebooks in place on the sandbox: their outputs are what nbval
# compares, so run this after changing anything they show, then review the diff.
notebooks: $(STAMP)
	cd capnb/reports/notebooks && CAPNB_PROGRESS=0 $(abspath $(BIN))/jupyter nbconvert --to notebook --execute \
	    --inplace --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.store_widget_state=False *.ipynb

clean:
	rm -rf $(VENV) .pytest_cache
