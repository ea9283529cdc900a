# The two commands of the README:  make demo   and   make test  (make vexseq: the real development set)
# Both create the virtual environment (.venv) on first use; nothing else needs installing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo vexseq vexseq-pangolin test lint report report-check rulegraph clean cluster-deps cluster-check

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# spliceai: only its packaged .h5 weights and gene tables are used (no TensorFlow).
	$(BIN)/python -m pip install --quiet --no-deps spliceai==1.3.1
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-cluster: $(VENV)/.installed requirements-cluster.txt
	$(BIN)/python -m pip install --quiet -r requirements-cluster.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(VENV)/.installed  ## run the whole workflow on the embedded demo data
	$(BIN)/snakemake --cores $(CORES)

vexseq: $(VENV)/.installed  ## the whole workflow on the Vex-seq development set, group 5-fold (docs/vexseq.md)
	$(BIN)/snakemake --cores $(CORES) --configfile config/vexseq.yaml

vexseq-pangolin: $(VENV)/.installed  ## Vex-seq with Pangolin as a second base model (weights at resources/pangolin/models)
	$(BIN)/snakemake --cores $(CORES) --configfile config/vexseq.yaml config/vexseq_pangolin.yaml

# -n auto: one worker per core; --dist loadfile keeps each module on one worker, so a module's shared run
# (the demo run of test_workflow.py) is made once; --no-loadscope-reorder keeps the collection order, in which
# the slowest modules come first (tests/conftest.py), instead of xdist's default of the modules with the most
# tests first (that started the SLURM check and the two-base-model run last: CI's tail).
test: $(VENV)/.installed  ## run the test suite in parallel (includes a demo workflow run and snakemake --lint)
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

lint: $(VENV)/.installed-dev  ## snakefmt --check, ruff check and snakemake --lint (config in pyproject.toml)
	$(BIN)/snakefmt --check workflow
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

report: $(VENV)/.installed  ## build the self-contained HTML report after a run
	$(BIN)/snakemake --report results/report.html

report-check: $(VENV)/.installed  ## run the demo if needed, then check the report in headless Chromium (apt-get install chromium)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/python tools/report_check.py --workdir . --readme-png docs/report_table.png

cluster-deps: $(VENV)/.installed-cluster  ## the SLURM executor plugin (requirements-cluster.txt) in the environment

# As root: apt-get installs SLURM, starts a throw-away single-node cluster, runs the demo through it with
# profiles/slurm and checks it (docs/cluster.md). CLUSTER_CHECK_ARGS="--until gather_scores": CI's reduced form.
cluster-check: $(VENV)/.installed-cluster  ## the demo through a local SLURM with profiles/slurm (root; docs/cluster.md)
	tools/slurm-local/with-slurm.sh --install $(BIN)/python tools/slurm-local/cluster_check.py $(CLUSTER_CHECK_ARGS)

rulegraph: $(VENV)/.installed  ## redraw docs/rulegraph.svg (needs graphviz's dot)
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

clean:
	rm -rf results logs benchmarks .snakemake
