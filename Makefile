# Every target sets up its own .venv on a fresh machine (pinned versions from pyproject.toml).
PY := .venv/bin/python
TARGET ?= sd865
TRIALS ?=
SPACE ?=
DATA ?=
# The gate's baseline: the committed smoke run (12 trials). A run with another budget or space is gated
# against a baseline of its own search (e.g. BASELINE=reports/baseline/sd865-20trials.json); the gate
# refuses to judge winners of different searches and names the baseline or the rerun to use.
BASELINE ?= reports/baseline/$(TARGET).json
STAMP := .venv/.installed

.PHONY: venv test test-fast bench optimize report gate train evaluate clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	# torch first: 2.13.0 is the CPU build (a plain resolve could pull a multi-GB CUDA build)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

# The quick loop while developing: everything but the heavy integration tests and the benchmarks.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not bench"

bench: $(STAMP)
	$(PY) -m pytest -q -m bench -s

optimize: $(STAMP)
	$(PY) -m aicam_opt.cli optimize --target $(TARGET) $(if $(TRIALS),--trials $(TRIALS)) $(if $(SPACE),--space $(SPACE)) $(if $(DATA),--data $(DATA))

# Regenerate every report of the last search from its study alone.
report: $(STAMP)
	$(PY) -m aicam_opt.cli report reports/$(TARGET)

# Fail on a performance or quality regression against the committed baseline of the same search.
gate: $(STAMP)
	$(PY) -m aicam_opt.cli gate --baseline $(BASELINE) --current reports/$(TARGET)/summary.json

train: $(STAMP)
	$(PY) -m aicam_opt.cli train teacher $(if $(DATA),--data $(DATA))
	$(PY) -m aicam_opt.cli train student $(if $(DATA),--data $(DATA))

evaluate: $(STAMP)
	$(PY) -m aicam_opt.cli evaluate $(if $(DATA),--data $(DATA))

clean:
	rm -rf .venv
