# The README's two commands, `make demo` and `make test`, start here. Each installs what is
# missing (scripts/install-deps.sh), builds with CMake, and runs.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
AVX512_BUILD ?= build-avx512
BASELINE_MARCH ?= x86-64-v2
JOBS       ?= $(shell nproc)
PYTHON     ?= python3
DEMO_OUT   ?= demo-out
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=
ifdef CI
CMAKE_FLAGS += -DNTKIT_WERROR=ON
endif
NTKIT := $(BUILD)/apps/ntkit/ntkit

.PHONY: all deps format-check build python-install test test-cpp test-cli test-python test-asan compile-avx512 fuzz fuzz-build fuzz-smoke bench demo clean

all: build

deps:
	@bash scripts/install-deps.sh

# The C/C++ files are formatted as .clang-format says (clang-format 14); CI checks it first.
# scripts/check-format.sh --fix formats them in place.
format-check: deps
	bash scripts/check-format.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# The Python module (for `make test` and for the demo's plots): `pip install .`
# (scikit-build-core; build folder build-python/, kept for incremental rebuilds) with this
# build's CMake definitions (-DNTKIT_WERROR=ON in CI), into $(PYTHON) as it is (no build
# isolation: install-deps put pybind11 and scikit-build-core there). Its tests compare against
# the tool in $(BUILD).
PIP_INSTALL := $(PYTHON) -m pip install -q --disable-pip-version-check --no-build-isolation \
  $(patsubst -D%,--config-settings=cmake.define.%,$(filter -D%,$(CMAKE_FLAGS)))
define run_python_tests
	NTKIT_BIN=$(abspath $(NTKIT)) $(PYTHON) -m pytest -q tests/python
endef

python-install: deps
	$(PIP_INSTALL) --root-user-action=ignore . || $(PIP_INSTALL) --break-system-packages .

# Tests run two at a time on two cores: OpenMP threads that spin while idle would take the cores
# from each other (the tool and `import ntkit` make the same choice themselves).
test test-python test-asan: export OMP_WAIT_POLICY ?= passive

# Every test: C++ (GoogleTest through CTest), a short fuzz run of the readers, then the
# command-line and Python tests (pytest).
test: build fuzz-smoke python-install
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	NTKIT_BIN=$(abspath $(NTKIT)) $(PYTHON) -m pytest -q tests/cli
	$(run_python_tests)

test-python: build python-install
	$(run_python_tests)

# The C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer (Debug, so Eigen's and our
# assertions are on; -O1 keeps the Monte Carlo and training tests fast enough), compiled for
# the baseline x86-64-v2 CPU (SSE4.2, no AVX): `make test` runs this machine's own
# instructions (-march=native), this runs the code every other x86-64 machine can run.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DNTKIT_SANITIZE=ON -DNTKIT_BUILD_BENCH=OFF -DNTKIT_MARCH=$(BASELINE_MARCH) $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target ntkit_tests
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The library and the C++ tests compiled (optimized, warnings as errors in CI) for an AVX-512
# CPU: GCC 12 warns in code paths it takes only there, so an AVX2 machine compiles them too.
# Only compiled: this machine may lack AVX-512 to run them.
# The tool is compiled there without MPI (NTKIT_MPI=OFF), so the one-process build of the tool
# is checked too.
compile-avx512: deps
	cmake -S . -B $(AVX512_BUILD) -DCMAKE_BUILD_TYPE=Release -DNTKIT_MARCH=x86-64-v4 -DNTKIT_BUILD_BENCH=OFF -DNTKIT_MPI=OFF $(CMAKE_FLAGS)
	cmake --build $(AVX512_BUILD) -j $(JOBS) --target ntkit_tests ntkit_cli

fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DNTKIT_BUILD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# A short run of each fuzz target over its committed seed corpus (make fuzz runs longer).
fuzz-smoke: fuzz-build
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_BUILD) 600

# The C++ benchmarks (ratios to GEMM), then the same-run comparisons with straightforward
# NumPy and with neural-tangents (jax on CPU, in bench/.venv-nt, created on first use).
# numpy is timed without this machine's OpenBLAS overrides, which slow a current numpy.
bench: build
	$(BUILD)/bench/ntkit_bench --benchmark_counters_tabular=true
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench/numpy_deep_kernel.py --ntkit $(NTKIT)
	NTKIT=$(abspath $(NTKIT)) PYTHON=$(PYTHON) bash bench/neural_tangents/run.sh

# The lecture's demo and the classic kernel methods (the tool), then their figures, drawn by
# the Python module (ntkit.plot, through scripts/plot_demo.py); then convolutional kernels on
# Fashion-MNIST (installed by install-deps from Debian's dataset-fashion-mnist).
demo: build python-install
	$(NTKIT) demo --out $(DEMO_OUT)
	$(NTKIT) classic-demo --out $(DEMO_OUT)/classic
	$(PYTHON) scripts/plot_demo.py $(DEMO_OUT)
	$(NTKIT) image-demo --out $(DEMO_OUT)/images
	$(PYTHON) scripts/plot_image_demo.py $(DEMO_OUT)/images

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEMO_OUT)
