"""ntkit.blas_info() and the choice of OpenBLAS's kernels before the engine loads
(python/ntkit/_blas.py; the rule itself is C++, tested in tests/cpp/test_blas_info.cpp)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import ntkit
from ntkit import _blas

VECTORIZED = ("haswell", "zen", "skylakex", "cooperlake", "sapphirerapids")


def cpu_has(*flags):
    line = next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "")
    return set(flags) <= set(line.split())


CLEARED = ("OPENBLAS_CORETYPE", "NTKIT_REPLACED_OPENBLAS_CORE", _blas.CHECKED)


def run_python(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_blas_info_describes_the_library():
    info = ntkit.blas_info()
    assert info["library"].startswith("OpenBLAS") and info["version"] in info["build"]
    assert info["threads"] >= 1
    assert info["cpu_vectors"] in ("AVX-512", "AVX2", "SSE")
    assert f"blas core: {info['core']}" in info["summary"]


def test_a_fresh_import_runs_vectorized_kernels_on_a_vector_cpu():
    info = json.loads(run_python("import json, ntkit; print(json.dumps(ntkit.blas_info()))"))
    if cpu_has("avx2", "fma"):
        assert not info["generic_core"], info
        assert info["core"].lower() in VECTORIZED, info


def test_a_users_generic_choice_is_kept_and_reported_with_its_fix():
    info = json.loads(run_python("import json, ntkit; print(json.dumps(ntkit.blas_info()))", OPENBLAS_CORETYPE="Prescott"))
    assert info["core"] == "Prescott" and info["replaced_core"] == ""
    if cpu_has("avx2", "fma"):
        assert info["generic_core"]
        assert "OPENBLAS_CORETYPE=Prescott is set in the environment" in info["summary"]


def fake_engine(tmp_path, request, loaded):
    """A stand-in for the extension that answers the probe as an engine that loaded `loaded`."""
    path = tmp_path / "fake_core.py"
    path.write_text(f"def _openblas_core_to_request():\n    return {request!r}\n"
                    f"def blas_info():\n    return {{'core': {loaded!r}}}\n")
    return str(path)


def clear(monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)


def test_the_probe_requests_the_cpus_family_in_place_of_generic_kernels(tmp_path, monkeypatch):
    clear(monkeypatch)
    _blas.choose_openblas_kernels(fake_engine(tmp_path, "SkylakeX", "Prescott"))
    assert os.environ["OPENBLAS_CORETYPE"] == "SkylakeX"
    assert os.environ["NTKIT_REPLACED_OPENBLAS_CORE"] == "Prescott"


def test_the_probe_changes_nothing_when_nothing_is_to_replace(tmp_path, monkeypatch):
    clear(monkeypatch)
    _blas.choose_openblas_kernels(str(tmp_path / "missing_engine.so"))  # a failed probe: no change
    assert "OPENBLAS_CORETYPE" not in os.environ and _blas.CHECKED not in os.environ
    _blas.choose_openblas_kernels(fake_engine(tmp_path, "", "SkylakeX"))
    assert "OPENBLAS_CORETYPE" not in os.environ
    assert os.environ[_blas.CHECKED] == "1"  # child processes need not ask again


def test_a_child_of_a_checked_process_does_not_probe(tmp_path, monkeypatch):
    clear(monkeypatch)
    monkeypatch.setenv(_blas.CHECKED, "1")
    _blas.choose_openblas_kernels(fake_engine(tmp_path, "SkylakeX", "Prescott"))
    assert "OPENBLAS_CORETYPE" not in os.environ


def test_the_probe_never_overrides_a_users_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    _blas.choose_openblas_kernels(fake_engine(tmp_path, "SkylakeX", "Prescott"))
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
