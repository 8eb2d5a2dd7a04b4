#!/usr/bin/env bash
# ntkit vs neural-tangents (issue 8): makes the virtual environment on first use (or when
# requirements.txt changed), then runs compare.py, which prints the tables and writes
# bench/results/<yyyy-mm-dd>-neural-tangents.md.
#
#   bash bench/neural_tangents/run.sh [compare.py options]     e.g. --skip-speed, --only relu-d1
#
# A full run (analytic, empirical and prediction sections, agreement and speed) takes ~30 min on
# 2 cores; --skip-analytic / --skip-empirical / --skip-predict / --skip-agreement / --skip-speed
# shorten it, and --merge OLD.json copies the skipped sections from an earlier run's results.
#
# Environment: NTKIT (the ntkit binary; default build/apps/ntkit/ntkit), NT_VENV (default
# bench/.venv-nt), PYTHON (the interpreter that makes the venv; default python3, which on
# Debian needs the python3-venv package). Only PyPI is used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${NT_VENV:-$repo/bench/.venv-nt}
python=${PYTHON:-python3}
ntkit=${NTKIT:-$repo/build/apps/ntkit/ntkit}

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/.ntkit-requirements.txt"; then
  echo "run.sh: making $venv (jax CPU + neural-tangents from PyPI)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  # neural-tangents' metadata requires tensorflow and tf2jax, used only by its `experimental`
  # TensorFlow export, which compare.py stubs out: install it without dependencies.
  "$venv/bin/pip" install -q --no-deps neural-tangents==0.6.5
  cp "$here/requirements.txt" "$venv/.ntkit-requirements.txt"
fi
if [ ! -x "$ntkit" ]; then
  echo "run.sh: error: no ntkit binary at $ntkit (build it: make build, or set NTKIT)" >&2
  exit 2
fi
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines) slow OpenBLAS down: not for timing.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$here/compare.py" --ntkit "$ntkit" "$@"
