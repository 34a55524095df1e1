# fashion_lit: `make fit` sets everything up and trains; `make test` runs the test suite.
# `make help` lists the targets.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
CONFIG ?= configs/quickstart.yaml
DATA_DIR ?= data
DEBIAN_DATA := /usr/share/datasets/fashion-mnist
RAW := $(DATA_DIR)/FashionMNIST/raw
IDX_FILES := $(addprefix $(RAW)/,train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
CKPT ?= best
PORT ?= 8000
# What a PyTorch GPU image (torch, lightning, torchmetrics, tensorboard) lacks for gpu-check:
# the CLI's parser and the test runner, pure-Python wheels at the versions installed here.
GPU_WHEELS := jsonargparse docstring_parser typeshed_client pytest pluggy iniconfig pygments

# $(call debian_package,PACKAGE,FILE): install Debian's PACKAGE with apt-get when FILE is
# absent and make runs as root, else say how to.
debian_package = if [ ! -e $(2) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's $(1)"; \
	    apt-get update -qq && apt-get install -y -qq $(1); \
	  else \
	    echo "Note: $(2) is absent; as root on Debian/Ubuntu run 'apt-get install $(1)'."; \
	  fi; \
	fi

.DEFAULT_GOAL := help
.PHONY: help install data fit try test test-fast lint parity tuned seeds tune tune-full bench bench-epochs profile \
	gpu-check gpu-bundle predict export tensorboard clean browser postgres serve serve-screenshot bench-serve

help: ## Show this list of targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(INSTALLED) ## Create the virtual environment .venv and install fashion_lit into it

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

data: install ## Acquire FashionMNIST into data/ (Debian package where possible, else download)
	@if [ ! -d $(DEBIAN_DATA) ] && ! ls $(IDX_FILES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's dataset-fashion-mnist package"; \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	  else \
	    echo "Note: $(DEBIAN_DATA) is absent; as root on Debian/Ubuntu run" \
	         "'apt-get install dataset-fashion-mnist' to work offline. Trying the download."; \
	  fi; \
	fi
	$(PY) -m fashion_lit.data --data_dir $(DATA_DIR)

fit: data ## Train with CONFIG (default: the tutorial's 5-epoch quickstart), then test its best checkpoint
	$(PY) -m fashion_lit fit --config $(CONFIG) --test_after_fit true

try: data ## A first try in under a minute: configs/try.yaml, runs in lightning_logs/try/
	$(PY) -m fashion_lit fit --config configs/try.yaml

test: data browser postgres lint ## Check the style, then run every test, the slow real-data one included
	$(PY) -m pytest

test-fast: install browser postgres ## Run the tests without the slow real-data training
	$(PY) -m pytest -m "not slow"

lint: install ## Check style with ruff (lint rules and formatting, as in pyproject.toml)
	$(VENV)/bin/ruff check fashion_lit tests benchmarks docs
	$(VENV)/bin/ruff format --check fashion_lit tests benchmarks docs

parity: data ## Compare fashion_lit with the plain tutorial loop (configs/parity.yaml)
	$(PY) benchmarks/parity.py --data-dir $(DATA_DIR)

tuned: data ## Test accuracy of configs/tuned.yaml, mean ± std over seeds 0-4, 1 thread each
	$(PY) benchmarks/seeds.py --config configs/tuned.yaml --data-dir $(DATA_DIR) --threads 1 --jobs 2

seeds: data ## Test accuracy of CONFIG, mean ± std over seeds 0-4, 1 thread each
	$(PY) benchmarks/seeds.py --config $(CONFIG) --data-dir $(DATA_DIR) --threads 1 --jobs 2

tune: data ## A small search around configs/tuned.yaml: 4 trials of 3 epochs (configs/search.yaml)
	$(PY) -m fashion_lit tune --config configs/tuned.yaml --search configs/search.yaml \
	  --study_name small --trials 4 -- --trainer.max_epochs=3

tune-full: data ## The real search: 16 trials of up to 30 epochs, 2 at a time, pruning on
	$(PY) -m fashion_lit tune --config configs/tuned.yaml --search configs/search.yaml \
	  --study_name tuned-30 --trials 16 --jobs 2 -- --trainer.max_epochs=30

bench: data ## Time whole runs (1, 3, 5 epochs, then a test) beside the tutorial loop: the felt epoch
	$(PY) benchmarks/speed.py whole --data-dir $(DATA_DIR)

bench-epochs: data ## Time training epochs alone beside the tutorial loop's
	$(PY) benchmarks/speed.py epochs --data-dir $(DATA_DIR)

profile: data ## Where the seconds of `make fit`'s command and of a test go
	$(PY) benchmarks/profile_run.py --data-dir $(DATA_DIR)

gpu-check: ## On a CUDA GPU: gpu tests, T_import, the quickstart and the epoch with each step mode
	bash benchmarks/gpu_check.sh

gpu-bundle: data ## Put into .gpu/ what a GPU machine without network needs for gpu-check
	mkdir -p .gpu/wheels .gpu/fashion-mnist
	for f in $(IDX_FILES); do gzip -c $$f > .gpu/fashion-mnist/$$(basename $$f).gz; done
	$(PY) -m pip download --quiet --no-deps --dest .gpu/wheels $$($(PY) -c \
	  'from importlib.metadata import version; print(*(f"{p}=={version(p)}" for p in "$(GPU_WHEELS)".split()))')

predict: install ## Predict test image 0 with the best checkpoint of the latest run
	$(PY) -m fashion_lit predict --config $(CONFIG) --ckpt_path best --data.predict_indices '[0]'

export: install ## Export the best checkpoint of the latest run to model.pth and model.pt2
	$(PY) -m fashion_lit export --config $(CONFIG) --ckpt_path best

browser: ## Install Debian's chromium, which the page's tests drive (as root, with apt-get)
	@$(call debian_package,chromium,/usr/bin/chromium)

postgres: ## Install Debian's postgresql, whose server the shared-study test starts (as root)
	@$(call debian_package,postgresql,/usr/lib/postgresql)

serve: install ## Serve CKPT (default: best) at http://127.0.0.1:PORT (default: 8000): the page, POST /predict
	$(PY) -m fashion_lit serve --config $(CONFIG) --ckpt_path $(CKPT) --port $(PORT) --data_dir $(DATA_DIR)

serve-screenshot: install browser ## Take the README's picture of the page (docs/serve-page.png) with CKPT
	$(PY) docs/serve_screenshot.py --ckpt_path $(CKPT) --data_dir $(DATA_DIR) --output docs/serve-page.png

bench-serve: install ## Time the server against a naive FastAPI endpoint and LitServe, with hey
	@$(call debian_package,hey,/usr/bin/hey)
	$(PY) benchmarks/serve.py

tensorboard: install ## Watch the runs in lightning_logs/ at http://localhost:6006
	$(VENV)/bin/tensorboard --logdir lightning_logs --host localhost --port 6006

clean: ## Remove run output and caches (keeps .venv and data/)
	rm -rf lightning_logs .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
