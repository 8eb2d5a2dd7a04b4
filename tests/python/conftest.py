"""Shared fixtures for the Python module's tests (pytest tests/python).

The module under test is the installed `ntkit` (`make test-python` pip-installs it first).
The command-line tool, for the tests that compare both, comes from $NTKIT_BIN (the Makefile
sets it), defaulting to this checkout's build/apps/ntkit/ntkit.
"""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rng():
    return np.random.default_rng(20261129)


@pytest.fixture(scope="session")
def ntkit_cli():
    """Runs the command-line tool with the given arguments; asserts exit status 0."""
    path = os.environ.get("NTKIT_BIN", str(REPO_ROOT / "build" / "apps" / "ntkit" / "ntkit"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"ntkit binary not found or not executable: {path} (build it or set NTKIT_BIN)")

    def run(*args, expect_ok=True):
        result = subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=120)
        if expect_ok:
            assert result.returncode == 0, f"ntkit {' '.join(map(str, args))}: {result.stderr}"
        return result

    return run
