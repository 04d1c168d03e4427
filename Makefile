# One command to set up and run the main job, one to set up and run the tests.
#   make run    install, train the digits recognizer, evaluate it on a fresh test set
#   make test   install, lint, run the test suite
#   make bench  install, run the benchmarks (writes benchmarks/results/*.json)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN    ?= runs/digits-$(shell date +%Y%m%d-%H%M%S)
TRAIN_ARGS ?=   # e.g. make run TRAIN_ARGS="--max-minutes 5"

# Use the shared offline data when it sits beside the project; otherwise the loaders
# look in ~/.cache/seqocr and download (with checksums) when they can.
ifneq ($(wildcard ../shared/data/mnist),)
export SEQOCR_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: setup browser run test bench clean

setup: $(VENV)/.installed

# pip's byte-compiling goes through every installed file, one at a time, most of them
# never imported: skipped (--no-compile). Setup compiles what every seqocr process imports
# by importing it once; anything else gets its bytecode written at its first import,
# even where the environment asks Python not to write it.
export PYTHONDONTWRITEBYTECODE :=

# torch first, pinned: that wheel is the CPU build; a looser pin pulls GBs of CUDA.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-compile torch==2.13.0
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	@# compiled once here, not by the tests' first processes all at once
	$(BIN)/python -c "import seqocr.cli.train, seqocr.serve.app, seqocr.train.loop, seqocr.export.onnx, torch._dynamo"
	touch $@

run: setup
	$(BIN)/seqocr train --preset digits --out $(RUN) $(TRAIN_ARGS)
	$(BIN)/seqocr data synth --split test --seed 1 -n 2000 --out $(RUN)/testset
	$(BIN)/seqocr eval --model $(RUN) --data $(RUN)/testset --json $(RUN)/eval.json

# The drawing page's test drives Debian's Chromium (headless, through Playwright).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| (echo "the browser test needs Debian's chromium: apt-get install chromium" && exit 1)

test: setup browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

bench: setup
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/network_size.py
	$(BIN)/python benchmarks/beam.py
	$(BIN)/python benchmarks/serve_load.py
	$(BIN)/python benchmarks/quantize.py
	$(BIN)/python benchmarks/captcha.py
	$(BIN)/python benchmarks/finetune.py --set printed800 --minutes 5
	$(BIN)/python benchmarks/finetune.py --set printed800 --recipe scratch --minutes 5
	$(BIN)/python benchmarks/finetune.py --set captcha100
	$(BIN)/python benchmarks/classifier.py
	$(BIN)/python benchmarks/ctc_vs_attention.py
	$(BIN)/python benchmarks/gpu.py

clean:
	rm -rf $(VENV) build *.egg-info
