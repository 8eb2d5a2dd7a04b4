#!/usr/bin/env python3
"""Plots for `ntkit demo` and `ntkit classic-demo`, drawn by the Python module (ntkit.plot):
reads DIR/report.json (and details.json, *.npy), writes DIR/*.png; DIR/classic/ too when it
holds a classic-demo report. For the lecture demo it also trains fresh networks through
ntkit on --data (default: the shipped data/diabetes.csv) for outputs_vs_ntk.png and
kernel_drift.png. The module must be installed first (`pip install .`; `make demo` does it).
"""
import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def main(argv):
    parser = argparse.ArgumentParser(prog="plot_demo.py", description=__doc__)
    parser.add_argument("dir", help="the demo's output folder (ntkit demo --out DIR)")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "data" / "diabetes.csv"),
                        help="CSV with a header line, target last, for the networks trained here (default: %(default)s)")
    parser.add_argument("--widths", default="64,512,4096",
                        help="comma-separated widths of those networks (default: %(default)s)")
    args = parser.parse_args(argv[1:])
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        parser.error(f"--widths: expected comma-separated integers, got {args.widths!r}")
    try:
        import ntkit.plot
    except ImportError as e:
        print(f"plot_demo: error: the ntkit module is not installed ({e}); run `make demo` or `pip install .`",
              file=sys.stderr)
        return 2
    try:
        ntkit.plot.demo_figures(args.dir, data=args.data, dynamics_widths=widths)
    except ValueError as e:
        print(f"plot_demo: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
