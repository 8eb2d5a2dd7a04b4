#!/usr/bin/env python3
"""Figures for `ntkit image-demo`: reads DIR/report.json, details.json, cntk_train.npy and
test_images.npy, writes
  DIR/accuracy.png     test accuracy of the CNTK, CNN-GP, FC NTK, FC NNGP and the trained CNN;
  DIR/cnn_training.png the finite CNN's test accuracy and training loss during training, with
                       the kernels' accuracies as horizontal lines;
  DIR/confusion.png    confusion matrices of the CNTK, the FC NTK and the CNN;
  DIR/cntk.png         the CNTK on the training images, sorted by class;
  DIR/examples.png     test images with their label and the CNTK's and CNN's predictions.
Needs numpy and matplotlib (installed with the Python module: `make demo` does it).
"""
import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load(folder: Path):
    try:
        report = json.loads((folder / "report.json").read_text())
        details = json.loads((folder / "details.json").read_text())
        kernel = np.load(folder / "cntk_train.npy")
        images = np.load(folder / "test_images.npy")
    except (OSError, ValueError) as e:
        raise ValueError(f"{folder}: not an image-demo output folder ({e}); run `ntkit image-demo --out {folder}` first")
    return report, details, kernel, images


def accuracy_figure(report, path):
    acc = report["accuracy"]
    names = ["CNTK", "CNN-GP", "FC NTK", "FC NNGP", "trained CNN"]
    values = [acc["cntk"], acc["cnn_gp"], acc["fc_ntk"], acc["fc_nngp"], acc["finite_cnn"]]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    bars = ax.bar(names, [100 * v for v in values], color=["C0", "C0", "C1", "C1", "C2"])
    for bar, v in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, 100 * v + 0.5, f"{100 * v:.1f}", ha="center", va="bottom")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Fashion-MNIST, {report['train_images']} training / {report['test_images']} test images")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def training_figure(report, details, path):
    curve = details["cnn_curve"]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(curve["steps"], [100 * a for a in curve["test_accuracy"]], "C2o-", label="trained CNN (test)")
    acc = report["accuracy"]
    ax.axhline(100 * acc["cntk"], color="C0", linestyle="--", label="CNTK (t = ∞)")
    ax.axhline(100 * acc["fc_ntk"], color="C1", linestyle=":", label="FC NTK (t = ∞)")
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    loss_ax = ax.twinx()
    loss_ax.plot(curve["steps"], curve["train_loss"], "k-", alpha=0.3, label="training loss")
    loss_ax.set_ylabel("training loss (MSE)")
    lines = ax.get_legend_handles_labels()
    more = loss_ax.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def confusion_figure(details, path):
    names = [("cntk", "CNTK"), ("fc_ntk", "FC NTK"), ("finite_cnn", "trained CNN")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    for ax, (key, title) in zip(axes, names):
        counts = np.asarray(details["confusion"][key], dtype=float)
        ax.imshow(counts, cmap="Blues")
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        for i in range(10):
            for j in range(10):
                if counts[i, j]:
                    ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def kernel_figure(details, kernel, path):
    labels = np.asarray(details["train_labels"])
    order = np.argsort(labels, kind="stable")
    fig, ax = plt.subplots(figsize=(5, 4.4))
    image = ax.imshow(kernel[np.ix_(order, order)], cmap="viridis")
    fig.colorbar(image, ax=ax)
    ax.set_title("CNTK on the training images, sorted by class")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def examples_figure(report, details, images, path, count=12):
    shape = report["image_shape"]
    names = details["class_names"]
    fig, axes = plt.subplots(2, count // 2, figsize=(12, 5.8))
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(images[i].reshape(shape[0], shape[1]), cmap="gray")
        truth = details["test_labels"][i]
        cntk = details["predicted"]["cntk"][i]
        cnn = details["predicted"]["finite_cnn"][i]
        ax.set_title(f"{names[truth]}\nCNTK: {names[cntk]}\nCNN: {names[cnn]}", fontsize=7,
                     color="black" if cntk == truth else "red")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv):
    parser = argparse.ArgumentParser(prog="plot_image_demo.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="the image demo's output folder (ntkit image-demo --out DIR)")
    args = parser.parse_args(argv[1:])
    folder = Path(args.dir)
    try:
        report, details, kernel, images = load(folder)
    except ValueError as e:
        print(f"plot_image_demo: error: {e}", file=sys.stderr)
        return 2
    accuracy_figure(report, folder / "accuracy.png")
    training_figure(report, details, folder / "cnn_training.png")
    confusion_figure(details, folder / "confusion.png")
    kernel_figure(details, kernel, folder / "cntk.png")
    examples_figure(report, details, images, folder / "examples.png")
    print(f"plot_image_demo: wrote accuracy.png, cnn_training.png, confusion.png, cntk.png, examples.png in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
