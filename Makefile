# One Makefile for the workbench. `make demo` and `make test` are all a new user needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lab venv browser bench clean-outputs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

## The demo: build the Riverton partnership and render every document into outputs/riverton/
demo: $(STAMP) browser
	$(VENV)/bin/assess demo

## The whole test suite (sets up the environment and the browser first if needed)
test: $(STAMP) browser
	$(PY) -m pytest -q

## Headless Chromium for the browser tests, from Debian's packages (skipped where apt is absent)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed; browser tests will be skipped"; \
	  else echo "apt-get not found; browser tests will be skipped"; fi; \
	fi

## JupyterLab on the notebooks, against the demo catalogue
lab: $(STAMP)
	@test -f data/raw/.seed || $(VENV)/bin/assess generate-demo
	ASSESSMENT_PSEUDONYM_KEY=$${ASSESSMENT_PSEUDONYM_KEY:-riverton-demo-key-not-for-real-data} \
	  $(VENV)/bin/jupyter lab --notebook-dir=notebooks

## Benchmarks (not tests): figures go to docs/BENCHMARKS.md by hand
bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b; done

clean-outputs:
	rm -rf outputs/riverton outputs/interactive

clean: clean-outputs
	rm -rf $(VENV) data/raw
