# adam_jax: `make install`, `make test`, `make run`, `make lint`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test run lint bench bench-gpu reproduce reproduce-quick clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[experiments,dev]'
	@bash scripts/install_data.sh $(BIN)/python || true
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -n 2 --maxschedchunk=1 tests adam_jax README.md

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache

# §6.1 / Figure 1 (left) of the Adam paper on MNIST (which `make install` provides offline;
# Fashion-MNIST where it could not), with the follow-ups (AdaMax, AMSGrad, Nadam, AdamW)
# beside the paper's baselines; each optimizer's learning-rate grid runs as one vmapped
# program. About 2 minutes on 2 cores.
RUN_WORKDIR ?= runs/make_run
RUN_DATA = $(shell $(BIN)/python -c "from adam_jax.data import idx; print('' if idx.find_dir('mnist', None) else ',fmnist')" 2>/dev/null)
run: install
	$(BIN)/python -m experiments.run --config=configs/lr_mnist.py:followups$(RUN_DATA) \
	  --workdir=$(RUN_WORKDIR)

# Speed benchmarks (results: benchmarks/RESULTS.md). Set TORCH_PYTHON to an interpreter
# with torch installed to add the PyTorch column; it is never a dependency of adam_jax.
bench: install
	$(BIN)/python -m benchmarks.bench_update
	$(BIN)/python -m benchmarks.bench_models
	$(BIN)/python -m benchmarks.bench_sweep --end-to-end

# The same on a CUDA machine (jax[cuda12] from the 'cuda' extra; nothing in the library is
# GPU-specific): every model's epoch, Figure 4's whole grid (60 points, 10 epochs) end to
# end, and the MLP's grid from 1 to 256 points.
bench-gpu: install
	$(BIN)/pip install --quiet -e '.[cuda]'
	$(BIN)/python -m benchmarks.bench_models --no-startup
	$(BIN)/python -m benchmarks.bench_sweep --figure4 --models mlp --sizes 1,2,4,8,16,32,64,128,256

# The reproduction report: every experiment of results/REPORT.md from its config, then the
# report and its figures (results/figures). More than 11 hours of training on 2 CPU cores
# (its CNN steps took 10 minutes on one H200: the README says which ran where); rerunning reuses
# finished runs (runs/reproduce/) and resumes interrupted ones. The quick variant (reduced
# grids and epochs, under 20 minutes) writes results/quick/ from runs/reproduce_quick/.
reproduce: install
	$(BIN)/python -m experiments.reproduce

reproduce-quick: install
	$(BIN)/python -m experiments.reproduce --quick
