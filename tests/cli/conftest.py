"""Shared fixtures for the command-line tests of ``ntkit``.

The binary comes from $NTKIT_BIN (the Makefile sets it), defaulting to the usual build path.
"""
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = str(REPO_ROOT / "build" / "apps" / "ntkit" / "ntkit")


def run_on_terminal(args, cwd):
    """Runs args with stderr on a pseudo-terminal; returns (exit status, what was drawn there)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower side closed: the process is done
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    return proc.wait(timeout=120), drawn.decode(errors="replace")


def ntkit_path() -> str:
    return os.environ.get("NTKIT_BIN", DEFAULT_BIN)


@pytest.fixture(scope="session")
def ntkit_bin() -> str:
    path = ntkit_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"ntkit binary not found or not executable: {path} (set NTKIT_BIN)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def ntkit(ntkit_bin, tmp_path):
    """Runs ntkit with the given arguments (converted to str) in tmp_path.

    Returns the CompletedProcess (text mode). A hung tool fails the test after 60 s.
    """

    def run(*args, cwd=None, timeout=60):
        return subprocess.run(
            [ntkit_bin, *[str(a) for a in args]],
            cwd=str(cwd if cwd is not None else tmp_path),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def ntkit_ok(ntkit):
    """Like ``ntkit`` but asserts exit status 0 and shows stderr otherwise."""

    def run(*args, **kwargs):
        result = ntkit(*args, **kwargs)
        assert result.returncode == 0, (
            f"ntkit {' '.join(map(str, args))} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result

    return run
