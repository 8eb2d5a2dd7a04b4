#!/usr/bin/env bash
# Installs whatever ntkit needs and this machine lacks: Debian packages (as root, through
# apt-get) and Python packages (through pip). Does nothing when everything is present, so
# `make test` and `make demo` can call it every time.
set -euo pipefail

debian_packages=(
  cmake make g++ pkg-config ccache
  libeigen3-dev libopenblas-dev liblapacke-dev libcli11-dev nlohmann-json3-dev libsleef-dev
  libsvm-dev   # kernel SVMs (ntkit classify / regress --method svm)
  openmpi-bin libopenmpi-dev libscalapack-openmpi-dev   # mpirun ntkit kernel | empirical | predict (NTKIT_MPI)
  zlib1g-dev   # gzip-compressed inputs (IDX files of MNIST / Fashion-MNIST, .npy.gz)
  dataset-fashion-mnist   # Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist (ntkit's fashion-mnist:train)
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev   # libFuzzer for the fuzz targets
  clang-format-14   # make format-check: one version, the same result on every machine
  python3 python3-pip python3-venv   # venv: make bench's neural-tangents environment
)
# Import names; pip_names maps those whose PyPI name differs. pybind11 and scikit-build-core
# build the Python module (pip install --no-build-isolation, so nothing is fetched at build
# time), scikit-learn is for its estimators and their tests.
python_modules=(numpy matplotlib pytest pybind11 scikit_build_core sklearn)
declare -A pip_names=([scikit_build_core]=scikit-build-core [sklearn]=scikit-learn)
# Oldest usable release (major.minor) where it matters: ntkit.plot builds figures with
# layout="constrained" (matplotlib 3.6). An older one already installed is upgraded.
declare -A min_versions=([matplotlib]=3.6)

missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}
missing_py=()
for mod in "${python_modules[@]}"; do
  min=${min_versions[$mod]:-0.0}
  "$python" -c "import sys, $mod as m; v = tuple(int(p) for p in m.__version__.split('.')[:2]); sys.exit(v < tuple(int(p) for p in '$min'.split('.')))" \
    2>/dev/null || missing_py+=("${pip_names[$mod]:-$mod}>=$min")
done
if [ ${#missing_py[@]} -gt 0 ]; then
  echo "install-deps: installing Python packages: ${missing_py[*]}"
  "$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore "${missing_py[@]}" \
    || "$python" -m pip install -q --break-system-packages "${missing_py[@]}"
fi
