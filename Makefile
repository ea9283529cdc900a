# The two commands of the README:  make demo   and   make test
# Both create the virtual environment (.venv) on first use; nothing else needs installing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo test lint report report-check rulegraph clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# spliceai: only its packaged .h5 weights and gene tables are used (no TensorFlow).
	$(BIN)/python -m pip install --quiet --no-deps spliceai==1.3.1
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(VENV)/.installed  ## run the whole workflow on the embedded demo data
	$(BIN)/snakemake --cores $(CORES)

test: $(VENV)/.installed  ## run the test suite (includes a demo workflow run and snakemake --lint)
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev  ## snakefmt --check, ruff check and snakemake --lint (config in pyproject.toml)
	$(BIN)/snakefmt --check workflow
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

report: $(VENV)/.installed  ## build the self-contained HTML report after a run
	$(BIN)/snakemake --report results/report.html

report-check: $(VENV)/.installed  ## run the demo if needed, then check the report in headless Chromium (apt-get install chromium)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/python tools/report_check.py --workdir . --readme-png docs/report_table.png

rulegraph: $(VENV)/.installed  ## redraw docs/rulegraph.svg (needs graphviz's dot)
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

clean:
	rm -rf results logs benchmarks .snakemake
