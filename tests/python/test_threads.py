"""OpenMP's idle threads sleep instead of spinning (OMP_WAIT_POLICY=passive), unless the user
chose otherwise: `import ntkit` sets it before the engine loads (apps/ntkit/main.cpp has the
measurements; the tool's side is tested in tests/cli/test_cli.py)."""
import os
import subprocess
import sys

PROBE = "import os, ntkit; print(os.environ.get('OMP_WAIT_POLICY'))"


def run_python(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_sets_passive_wait_policy():
    assert run_python(None) == "passive"


def test_import_keeps_the_users_wait_policy():
    assert run_python("active") == "active"

