"""Images and signals as inputs: 4-D / 3-D .npy, IDX files (MNIST's format, plain or gzip),
row ranges FILE[:N], the fashion-mnist: shorthand, and their errors.

The identity used throughout: a network whose first layer is Flatten, on images, has exactly
the kernel of the same network without it on the flattened rows.
"""
import gzip
import json
import struct

import numpy as np
import pytest

MLP = "Dense(16, W_std=1.5, b_std=0.1), Relu, Dense(1)"
CONV = "Conv(3, (2, 2), padding='SAME', W_std=1.5, b_std=0.1), Relu, GlobalAvgPool, Dense(1)"


def close(a, b):
    """Flatten first sums the same products in another order than the flat Gram matrix: equal
    to rounding (the engine's results differ by at most an ulp or two)."""
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)


def idx_bytes(arr, code=0x08, fmt=">u1"):
    arr = np.asarray(arr)
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(fmt).tobytes()


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, 4, 4, 2))
    np.save(tmp_path / "img.npy", x)
    np.save(tmp_path / "flat.npy", x.reshape(len(x), -1))
    return x


def load(path):
    return np.load(path)


def test_flatten_first_on_images_equals_the_flat_kernel(ntkit_ok, tmp_path, images):
    ntkit_ok("kernel", "--arch", "Flatten, " + MLP, "--x1", "img.npy", "--get", "both", "-o", "a.npy")
    ntkit_ok("kernel", "--arch", MLP, "--x1", "flat.npy", "--get", "both", "-o", "b.npy")
    for part in ("nngp", "ntk"):
        close(load(tmp_path / f"a.{part}.npy"), load(tmp_path / f"b.{part}.npy"))
    # Text output and --x2 and --diagonal take images too.
    ntkit_ok("kernel", "--arch", "Flatten, " + MLP, "--x1", "img.npy[:2]", "--x2", "img.npy[2:]", "-o", "c.csv")
    close(np.loadtxt(tmp_path / "c.csv", delimiter=","), load(tmp_path / "b.ntk.npy")[:2, 2:])
    ntkit_ok("kernel", "--arch", "Flatten, " + MLP, "--x1", "img.npy", "--diagonal", "-o", "d.npy")
    np.testing.assert_allclose(load(tmp_path / "d.npy"), np.diag(load(tmp_path / "b.ntk.npy")), rtol=1e-14)


def test_conv_network_on_images_and_signals(ntkit_ok, tmp_path, images):
    ntkit_ok("kernel", "--arch", CONV, "--x1", "img.npy", "-o", "k.npy")
    k = load(tmp_path / "k.npy")
    assert k.shape == (6, 6)
    np.testing.assert_array_equal(k, k.T)
    assert np.linalg.eigvalsh(k).min() > -1e-12
    # Not the kernel of the flattened rows: the shape reached the engine.
    ntkit_ok("kernel", "--arch", "Flatten, " + MLP, "--x1", "img.npy", "-o", "f.npy")
    assert not np.allclose(k, load(tmp_path / "f.npy"))
    np.save(tmp_path / "sig.npy", images.reshape(6, 16, 2))
    ntkit_ok("kernel", "--arch", "Conv(3, (3,), padding='SAME'), Relu, GlobalAvgPool, Dense(1)", "--x1", "sig.npy",
             "--x2", "sig.npy[1:3]", "-o", "s.npy")
    assert load(tmp_path / "s.npy").shape == (6, 2)


def test_idx_gzip_images_read_as_one_channel_in_unit_interval(ntkit_ok, tmp_path):
    rng = np.random.default_rng(3)
    pix = rng.integers(0, 256, size=(5, 3, 4), dtype=np.uint8)
    (tmp_path / "imgs-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(pix)))
    (tmp_path / "imgs-idx3-ubyte").write_bytes(idx_bytes(pix))
    x = pix.reshape(5, -1) / 255.0
    ntkit_ok("kernel", "--kernel", "linear", "--x1", "imgs-idx3-ubyte.gz", "-o", "lin.npy")
    np.testing.assert_allclose(load(tmp_path / "lin.npy"), x @ x.T, rtol=1e-14)
    # (Disjoint rows: a point against itself outside K(X, X) is ReLU's arc-cosine at ρ ≈ 1, where
    # the two summation orders' last bits become ~1e-8 relative.)
    ntkit_ok("kernel", "--arch", "Flatten, " + MLP, "--x1", "imgs-idx3-ubyte[:3]", "--x2", "imgs-idx3-ubyte.gz[3:]",
             "-o", "a.npy")
    np.save(tmp_path / "x.npy", x)
    ntkit_ok("kernel", "--arch", MLP, "--x1", "x.npy[:3]", "--x2", "x.npy[3:]", "-o", "b.npy")
    close(load(tmp_path / "a.npy"), load(tmp_path / "b.npy"))


@pytest.fixture
def fashion(tmp_path, monkeypatch):
    """A tiny stand-in for Debian's dataset-fashion-mnist under $NTKIT_DATASETS."""
    rng = np.random.default_rng(11)
    root = tmp_path / "datasets"
    (root / "fashion-mnist").mkdir(parents=True)
    for split, n in (("train", 40), ("t10k", 12)):
        labels = np.arange(n) % 3
        # Class c: brighter in row band c, so the classes are easy.
        pix = rng.integers(0, 60, size=(n, 6, 6))
        for i, c in enumerate(labels):
            pix[i, 2 * c:2 * c + 2, :] += 180
        (root / "fashion-mnist" / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(pix)))
        (root / "fashion-mnist" / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    monkeypatch.setenv("NTKIT_DATASETS", str(root))
    return root


def test_classify_fashion_mnist_shorthand_brings_its_labels(ntkit_ok, tmp_path, fashion):
    r = ntkit_ok("classify", "--train", "fashion-mnist:train[:30]", "--test", "fashion-mnist:test[:9]",
                 "--arch", "Conv(2, (3, 3), padding='SAME'), Relu, GlobalAvgPool, Dense(1)", "--cv", "3", "-q",
                 "-o", "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["train_points"] == 30 and report["test_points"] == 9
    assert report["classes"] == ["0", "1", "2"]
    pred = np.load(tmp_path / "out" / "predictions.npy")
    assert pred.dtype == np.uint8 and pred.shape == (9,)  # the labels' own type
    assert "test accuracy" in r.stdout
    # Explicit label files with the same ranges, and the default grid (Dense networks on the
    # flattened pixels), work as well.
    ntkit_ok("classify", "--train", "fashion-mnist:train[:30]", "fashion-mnist:train-labels[:30]",
             "--test", "fashion-mnist:test", "fashion-mnist:test-labels", "--depth", "1", "--cv", "3", "-q", "-o", "out2")
    assert json.loads((tmp_path / "out2" / "report.json").read_text())["test_accuracy"] > 0.9


def test_finite_networks_take_images(ntkit_ok, tmp_path, images):
    # The same seed draws the same Dense parameters: Flatten first equals the flat network.
    ntkit_ok("empirical", "--arch", "Flatten, " + MLP, "--x1", "img.npy", "--seed", "3", "-o", "a.npy")
    ntkit_ok("empirical", "--arch", MLP, "--x1", "flat.npy", "--seed", "3", "-o", "b.npy")
    close(load(tmp_path / "a.npy"), load(tmp_path / "b.npy"))
    ntkit_ok("empirical", "--arch", CONV.replace("Conv(3", "Conv(8"), "--x1", "img.npy", "--x2", "img.npy[:2]",
             "-o", "c.npy")
    assert load(tmp_path / "c.npy").shape == (6, 2)
    np.save(tmp_path / "y.npy", np.arange(4.0))
    ntkit_ok("train", "--arch", CONV, "--train", "img.npy[:4]", "y.npy", "--test", "img.npy[4:]", "--steps", "3",
             "--lr", "0.1", "--out", "run")
    assert load(tmp_path / "run" / "test_outputs.npy").shape[1:] == (2, 1)


def test_predict_with_images_equals_flat(ntkit_ok, tmp_path, images):
    np.save(tmp_path / "y.npy", np.arange(4.0))
    ntkit_ok("predict", "--arch", "Flatten, " + MLP, "--train", "img.npy[:4]", "y.npy", "--test", "img.npy[4:]",
             "--time", "1,inf", "--diag-reg", "1e-6", "-o", "p1")
    ntkit_ok("predict", "--arch", MLP, "--train", "flat.npy[:4]", "y.npy", "--test", "flat.npy[4:]",
             "--time", "1,inf", "--diag-reg", "1e-6", "-o", "p2")
    for name in ("train.npy", "test.npy"):
        close(load(tmp_path / "p1" / name), load(tmp_path / "p2" / name))


def check_error(r, phrases):
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("ntkit: error: ") and r.stderr.count("\n") == 1, r.stderr
    for phrase in phrases:
        assert phrase in r.stderr, (phrase, r.stderr)


def test_bad_image_inputs_are_clear_errors_and_write_nothing(ntkit, tmp_path, images, monkeypatch):
    np.save(tmp_path / "five.npy", np.zeros((2, 2, 2, 2, 2)))
    np.save(tmp_path / "swapped.npy", images.transpose(0, 1, 3, 2))
    np.save(tmp_path / "small.npy", images[:, :2, :2, :])
    bad = images.copy()
    bad[3, 1, 2, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    whole = idx_bytes(np.zeros((4, 3, 3), dtype=np.uint8))
    (tmp_path / "cut-idx3-ubyte").write_bytes(whole[:-4])
    (tmp_path / "cut.gz").write_bytes(gzip.compress(whole)[:-12])
    (tmp_path / "magic-idx").write_bytes(b"\x00\x00\x07\x03" + whole[4:])
    monkeypatch.setenv("NTKIT_DATASETS", str(tmp_path / "nowhere"))
    arch = ["--arch", "Flatten, " + MLP]
    cases = [
        (["kernel", *arch, "--x1", "five.npy"], ["five.npy", "5 dimensions", "(N, H, W, C"]),
        (["kernel", *arch, "--x1", "img.npy", "--x2", "swapped.npy"],
         ["swapped.npy", "shape (4, 2, 4)", "(4, 4, 2)", "axis order"]),
        (["kernel", *arch, "--x1", "img.npy", "--x2", "small.npy"], ["small.npy", "(2, 2, 2)", "same shape"]),
        (["kernel", *arch, "--x1", "nan.npy"], ["nan.npy", "NaN in example 3 at position (1, 2, 0)"]),
        (["kernel", *arch, "--x1", "cut-idx3-ubyte"], ["cut-idx3-ubyte", "truncated IDX file", "(4, 3, 3)"]),
        (["kernel", *arch, "--x1", "cut.gz"], ["cut.gz", "truncated gzip data"]),
        (["kernel", *arch, "--x1", "magic-idx"], ["magic-idx", "unknown IDX type code 0x07"]),
        (["kernel", *arch, "--x1", "img.npy[:7]"], ["img.npy[:7]", "has 6"]),
        (["kernel", *arch, "--x1", "img.npy[2:x]"], ["img.npy[2:x]", "not a row number"]),
        (["kernel", *arch, "--x1", "fashion-mnist:train[:10]"], ["dataset-fashion-mnist", "apt-get install"]),
        (["kernel", "--arch", "Dense(1)", "--x1", "img.npy"], ["spatial"]),
        (["empirical", "--arch", MLP, "--x1", "img.npy", "--x2", "swapped.npy"], ["swapped.npy", "same shape"]),
        (["features", "--x", "img.npy"], ["img.npy", "images or signals", "reshape"]),
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, phrases in cases:
        r = ntkit(*args, "-o", "K.npy")
        check_error(r, phrases)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_image_demo_reports_every_model_and_plots(ntkit, ntkit_ok, tmp_path, fashion, repo_root):
    """`ntkit image-demo` end to end on the stand-in data set: the kernels and the trained CNN
    classify the easy bands well, every file appears, and the plotting script draws them."""
    import subprocess
    import sys

    r = ntkit_ok("image-demo", "--out", "demo", "--train", "30", "--test", "12", "--channels", "4", "--steps", "60",
                 "--quiet")
    assert "CNTK" in r.stdout and "FC NTK" in r.stdout and "CNN" in r.stdout
    out = tmp_path / "demo"
    report = json.loads((out / "report.json").read_text())
    assert report["image_shape"] == [6, 6, 1]
    accuracy = report["accuracy"]
    assert set(accuracy) == {"cntk", "cnn_gp", "fc_ntk", "fc_nngp", "finite_cnn"}
    # Three classes, each brighter in its own band of rows: any working model is near 100 %.
    assert accuracy["cntk"] >= 0.9 and accuracy["fc_ntk"] >= 0.9, accuracy
    assert accuracy["finite_cnn"] >= 0.6, accuracy
    details = json.loads((out / "details.json").read_text())
    assert len(details["test_labels"]) == 12 and len(details["predicted"]["cntk"]) == 12
    assert np.load(out / "cntk_train.npy").shape == (30, 30)
    script = repo_root / "scripts" / "plot_image_demo.py"
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True)
    for name in ("accuracy", "cnn_training", "confusion", "cntk", "examples"):
        assert (out / f"{name}.png").stat().st_size > 0
    # Too few training images: a clear error, nothing written.
    r = ntkit("image-demo", "--out", "bad", "--train", "5", "--quiet")
    assert r.returncode != 0 and "--train needs at least 10 images" in r.stderr
    assert not (tmp_path / "bad").exists()
