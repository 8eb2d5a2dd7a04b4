"""Convolutional networks: ntkit vs neural-tangents (the `--conv` section of compare.py).

  bash bench/neural_tangents/run.sh --conv [--only NAME,...] [--conv-speed-n 8]
                                          [--skip-speed | --skip-agreement] [--merge OLD.json]

--merge copies the sections this run skips from an earlier run's .json; with --only, this run's
agreement rows replace the earlier rows of the same name and the others are kept.

1. Agreement (float64): CONV_CASES, a grid over Conv (padding VALID/SAME/CIRCULAR × stride
   1, 2 × odd and even filters × 'ntk'/'standard' × bias None/0/0.2), AvgPool (±
   normalize_edges), SumPool (window 2, 3 × every padding × stride 1, 2), GlobalAvgPool,
   GlobalSumPool, Flatten, Dense on spatial inputs, LayerNorm, Residual and FanInConcat, on
   2-D (8 × 7 × 3) and 1-D (11 × 3) inputs. Each network is one text, given as is to ntkit
   (`ntkit kernel`) and evaluated by stax (bare layer names such as `Relu` become `Relu()`).
   A third opinion comes from tests/python/conv_reference.py, a naive NumPy recursion over
   the full position × position covariance (docs/mathematics.md §7).
2. Speed: a Myrtle-5-like network and Arora et al.'s CNTK with global average pooling at
   depth 11, on 28 × 28 × 1 images; time per kernel entry of each side, and their ratio.

Writes bench/results/<yyyy-mm-dd>-neural-tangents-conv.{md,json}.
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import warnings

import numpy as np

import compare as C  # bench/neural_tangents/compare.py: jax (x64 on), stax, helpers

sys.path.insert(0, os.path.join(C.REPO, "tests", "python"))
import conv_reference as R  # noqa: E402

TARGET = C.TARGET  # 1e-10, float64

warnings.filterwarnings("ignore", message=".*FanIn.*")
warnings.filterwarnings("ignore", message=".*mismatching `channel_axis`.*")

# ---- Cases ---------------------------------------------------------------------------------


def _cases():
    """(name, layers as conv_reference tuples, per-example input shape)."""
    cases = []
    pads = ("VALID", "SAME", "CIRCULAR")
    biases = (None, 0.0, 0.2)
    for dims, shape in ((2, (8, 7, 3)), (1, (11, 3))):
        d = f"{dims}d"
        for i, (pad, stride, param, filt) in enumerate(
                (p, s, q, f) for p in pads for s in (1, 2) for q in ("ntk", "standard")
                for f in (3, 2)):
            bias = biases[i % 3]
            conv = dict(out_chan=4, filter_shape=(filt,) * dims, strides=(stride,) * dims,
                        padding=pad, W_std=1.3, b_std=bias, parameterization=param)
            conv2 = dict(out_chan=3, filter_shape=(3,) * dims, padding="SAME", W_std=1.1,
                         b_std=0.1, parameterization=param)
            cases.append((f"{d}-conv{filt}-{pad.lower()}-s{stride}-{param}-b{bias}",
                          [("Conv", conv), ("Relu",), ("Conv", conv2), ("Relu",), ("Flatten",),
                           ("Dense", dict(out_dim=1, W_std=0.9, b_std=bias,
                                          parameterization=param))], shape))
        for pool, pad, stride, win in ((p, q, s, w) for p in ("AvgPool", "AvgPool-edges",
                                                                "SumPool")
                                       for q in pads for s in (1, 2) for w in (2, 3)):
            if pool == "AvgPool-edges" and pad != "SAME":
                continue  # normalize_edges changes nothing there
            parg = dict(window_shape=(win,) * dims, strides=(stride,) * dims, padding=pad)
            if pool == "AvgPool-edges":
                parg["normalize_edges"] = True
            param = "standard" if (win + stride) % 2 else "ntk"
            conv = dict(out_chan=4, filter_shape=(3,) * dims, padding="SAME", W_std=1.2,
                        b_std=0.1, parameterization=param)
            cases.append((f"{d}-{pool.lower()}{win}-{pad.lower()}-s{stride}-{param}",
                          [("Conv", conv), ("Relu",), (pool.split("-")[0], parg),
                           ("Conv", dict(conv, out_chan=2)), ("Relu",), ("Flatten",),
                           ("Dense", dict(out_dim=1, parameterization=param))], shape))
        c3 = dict(out_chan=4, filter_shape=(3,) * dims, padding="SAME", W_std=1.4, b_std=0.1)
        cs = dict(c3, parameterization="standard")
        half = dict(window_shape=(2,) * dims, strides=(2,) * dims)
        cases += [
            (f"{d}-gap", [("Conv", c3), ("Relu",), ("Conv", c3), ("Relu",), ("GlobalAvgPool",),
                          ("Dense", dict(out_dim=1))], shape),
            (f"{d}-gsp-standard", [("Conv", cs), ("Relu",), ("Conv", cs), ("GlobalSumPool",),
                                   ("Dense", dict(out_dim=1, parameterization="standard"))],
             shape),
            (f"{d}-gap-then-relu", [("Conv", c3), ("GlobalAvgPool",), ("Relu",),
                                    ("Dense", dict(out_dim=1, b_std=0.1))], shape),
            (f"{d}-spatial-dense", [("Dense", dict(out_dim=5, W_std=1.2, b_std=0.3)), ("Relu",),
                                    ("Conv", c3), ("Erf",), ("Dense", dict(out_dim=3)),
                                    ("Relu",), ("AvgPool", half), ("Flatten",),
                                    ("Dense", dict(out_dim=1))], shape),
            (f"{d}-spatial-dense-standard",
             [("Dense", dict(out_dim=5, b_std=0.0, parameterization="standard")), ("Relu",),
              ("Conv", cs), ("Relu",), ("Flatten",),
              ("Dense", dict(out_dim=7, parameterization="standard")), ("Relu",),
              ("Dense", dict(out_dim=1, parameterization="standard"))], shape),
            (f"{d}-layernorm", [("Conv", c3), ("LayerNorm",), ("Relu",), ("Conv", c3),
                                ("LayerNorm", dict(eps=0.5)), ("Erf",), ("SumPool", half),
                                ("Flatten",), ("Dense", dict(out_dim=1))], shape),
            (f"{d}-residual", [("Conv", c3),
                               ("Residual", [("Relu",), ("Conv", c3), ("Relu",), ("Conv", c3)]),
                               ("Relu",), ("AvgPool", dict(half, padding="SAME")),
                               ("Conv", c3),
                               ("Residual", [("LeakyRelu", dict(alpha=0.1)), ("Conv", cs)]),
                               ("Relu",), ("GlobalAvgPool",), ("Dense", dict(out_dim=1))], shape),
            (f"{d}-concat", [("Conv", c3), ("Parallel", dict(
                branches=[[("Relu",), ("Conv", dict(c3, out_chan=3))],
                          [("Erf",), ("Conv", dict(c3, out_chan=6, filter_shape=(1,) * dims))]],
                merge="concat")), ("Conv", cs), ("Relu",), ("Flatten",),
                ("Dense", dict(out_dim=1))], shape),
            (f"{d}-pool-branches", [("Conv", c3), ("Relu",), ("Conv", c3), ("Parallel", dict(
                branches=[[("GlobalAvgPool",)], [("GlobalSumPool",)]], merge="sum")),
                ("Relu",), ("Dense", dict(out_dim=1))], shape),
            # Flatten in one branch and a layer with a channel axis in another makes
            # neural-tangents 0.6.5 fail while building the network (stax.parallel compares
            # None with an int), hence two bare Flatten branches.
            (f"{d}-flatten-branches", [("Conv", c3), ("Relu",), ("Parallel", dict(
                branches=[[("Flatten",)], [("Flatten",)]], merge="concat")),
                ("Dense", dict(out_dim=3, parameterization="standard")), ("Erf",),
                ("Dense", dict(out_dim=1))], shape),
            (f"{d}-myrtle-like", [("Conv", c3), ("Relu",), ("Conv", c3), ("Relu",),
                                  ("AvgPool", half), ("Conv", c3), ("Relu",), ("AvgPool", half),
                                  ("Flatten",), ("Dense", dict(out_dim=1))], shape),
        ]
    return cases


CONV_CASES = [(name, R.network_text(layers), layers, shape) for name, layers, shape in _cases()]


def myrtle_text(w=1.4, b=0.1):
    conv = f"Conv(1, (3, 3), padding='SAME', W_std={w}, b_std={b}), Relu"
    pool = "AvgPool((2, 2), strides=(2, 2))"
    return ", ".join([conv, conv, pool, conv, pool, conv, pool, "Flatten", f"Dense(1, W_std={w})"])


def cntk_gap_text(depth=11):
    """Arora et al. (2019): depth − 1 Conv-Relu blocks (3 × 3, SAME, W_std = √2, no bias), then
    global average pooling and the readout (depth weight layers in all)."""
    conv = "Conv(1, (3, 3), padding='SAME', W_std=1.4142135623730951), Relu"
    return ", ".join([conv] * (depth - 1) + ["GlobalAvgPool", "Dense(1, W_std=1.4142135623730951)"])


# (name, text, ntkit's n values): neural-tangents runs at --conv-speed-n (default 8) only; its
# memory grows like n² (28·28)², and its time per entry does not fall with n.
SPEED_NETS = [("myrtle-5", myrtle_text(), (8, 64)), ("cntk-gap-d11", cntk_gap_text(11), (8, 24))]

# ---- The two sides -------------------------------------------------------------------------


def nt_conv_kernel_fn(text):
    """stax.serial of the text, with bare layer names (`Relu`, `Flatten`) called."""
    ns = C.nt_namespace(C.QUAD_DEG)

    def called(layers):
        return [lay() if callable(lay) else lay for lay in layers]

    ns["serial"] = lambda *ls: C.stax.serial(*called(ls))
    ns["parallel"] = lambda *ls: C.stax.parallel(*called(ls))
    ns["Residual"] = lambda *ls: C.stax.serial(
        C.stax.FanOut(2), C.stax.parallel(C.stax.serial(*called(ls)), C.stax.Identity()),
        C.stax.FanInSum())
    return eval(f"serial({text})", {"__builtins__": {}}, ns)[2]


def nt_conv_kernels(text, x1, x2):
    k = nt_conv_kernel_fn(text)(x1, x2, ("nngp", "ntk"))
    return np.asarray(k[0]), np.asarray(k[1])


_CLI_FLAGS = {}


def cli_flags(binary):
    """The network and input options of `ntkit kernel` (--network/--arch, --x/--x1, --x2)."""
    if binary not in _CLI_FLAGS:
        h = subprocess.run([binary, "kernel", "--help"], capture_output=True, text=True).stdout
        net = "--network" if "--network" in h else "--arch"
        x1 = "--x1" if "--x1" in h else "--x"
        x2 = "--x2" if "--x2" in h else None
        _CLI_FLAGS[binary] = (net, x1, x2)
    return _CLI_FLAGS[binary]


def ntkit_cmd(binary, text, x1_path, x2_path, out):
    net, fx1, fx2 = cli_flags(binary)
    cmd = [binary, "kernel", net, text, fx1, x1_path, "--get", "both", "-o", out, "--quiet"]
    if x2_path:
        if fx2 is None:
            raise C.NtkitError("this ntkit kernel has no second-input option")
        cmd += [fx2, x2_path]
    return cmd


def ntkit_conv_kernels(binary, text, x1_path, x2_path, workdir):
    out = os.path.join(workdir, "Kc.npy")
    proc = subprocess.run(ntkit_cmd(binary, text, x1_path, x2_path, out), capture_output=True,
                          text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise C.NtkitError(lines[0] if lines else f"exit {proc.returncode}")
    return (np.load(os.path.join(workdir, "Kc.nngp.npy")),
            np.load(os.path.join(workdir, "Kc.ntk.npy")))


# ---- Agreement -----------------------------------------------------------------------------


def _identical_pairs(n1, n2, shared):
    """True at the (a, b) pairs of identical examples: the diagonal of K(X1, X1), or the pairs
    listed in `shared` for K(X1, X2)."""
    m = np.zeros((n1, n2), dtype=bool)
    if shared is None:
        np.fill_diagonal(m, True)
    else:
        for a, b in shared:
            m[a, b] = True
    return m


def run_conv_agreement(binary, workdir, only=()):
    rng = np.random.default_rng(20261203)
    rows = []
    inputs_by_shape = {}
    for name, text, layers, shape in CONV_CASES:
        if only and name not in only:
            continue
        if shape not in inputs_by_shape:
            x1 = rng.standard_normal((5,) + shape)
            x2 = rng.standard_normal((3,) + shape)
            x2[1] = x1[2]  # an example shared by X1 and X2
            tag = "x".join(map(str, shape))
            p1 = os.path.join(workdir, f"cx1_{tag}.npy")
            p2 = os.path.join(workdir, f"cx2_{tag}.npy")
            np.save(p1, x1)
            np.save(p2, x2)
            inputs_by_shape[shape] = {"XX": (x1, None, None, _identical_pairs(5, 5, None)),
                                      "XY": (x1, x2, p2, _identical_pairs(5, 3, [(2, 1)]))}
            inputs_by_shape[shape]["p1"] = p1
        inp = inputs_by_shape[shape]
        row = {"name": name, "text": text, "shape": list(shape)}
        try:
            nt_res = {t: nt_conv_kernels(text, inp[t][0], inp[t][1]) for t in ("XX", "XY")}
        except Exception as exc:  # neural-tangents rejects the network
            row["status"] = f"neural-tangents error: {type(exc).__name__}: {exc}"[:200]
            rows.append(row)
            print(f"{name:40s} {row['status']}", flush=True)
            continue
        try:
            got = {t: ntkit_conv_kernels(binary, text, inp["p1"], inp[t][2], workdir)
                   for t in ("XX", "XY")}
        except C.NtkitError as exc:
            row["status"] = f"ntkit error: {exc}"[:200]
            rows.append(row)
            print(f"{name:40s} {row['status']}", flush=True)
            continue
        ref = {t: R.kernels(layers, inp[t][0], inp[t][1]) for t in ("XX", "XY")}
        for which, i in (("nngp", 0), ("ntk", 1)):
            row[which] = max(C.rel_errors(got[t][i], nt_res[t][i])[0] for t in ("XX", "XY"))
        row["generic"] = max(C.masked_max_rel(got[t][i], nt_res[t][i], ~inp[t][3])
                             for t in ("XX", "XY") for i in (0, 1))
        row["ntkit_vs_ref"] = max(C.rel_errors(got[t][i], ref[t][i])[0]
                                  for t in ("XX", "XY") for i in (0, 1))
        row["nt_vs_ref"] = max(C.rel_errors(nt_res[t][i], ref[t][i])[0]
                               for t in ("XX", "XY") for i in (0, 1))
        row["worst"] = max(row["nngp"], row["ntk"])
        if row["worst"] <= TARGET:
            row["status"] = "ok"
        elif row["generic"] <= TARGET and row["ntkit_vs_ref"] <= TARGET:
            row["status"] = ("ok off identical-example pairs; there NT is off the reference "
                             "and ntkit on it")
        else:
            row["status"] = f"MISSED ({C.fmt(row['worst'])})"
        rows.append(row)
        print(f"{name:40s} nngp {C.fmt(row['nngp'])}  ntk {C.fmt(row['ntk'])}  generic "
              f"{C.fmt(row['generic'])}  [ref: ntkit {C.fmt(row['ntkit_vs_ref'])}, NT "
              f"{C.fmt(row['nt_vs_ref'])}]  {row['status']}", flush=True)
    return rows


# ---- Speed ---------------------------------------------------------------------------------

MODULE_SNIPPET = r"""
import sys, time, statistics, json
import numpy as np
import ntkit
text, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
x = np.load(path)
ntkit.kernel(text, x, get=("nngp", "ntk"))
times = []
for _ in range(repeats):
    t0 = time.perf_counter(); ntkit.kernel(text, x, get=("nngp", "ntk"))
    times.append(time.perf_counter() - t0)
print(json.dumps({"median": statistics.median(times), "times": times}))
"""


def run_conv_speed(binary, workdir, nt_n, repeats, module_python, only=()):
    import jax
    import jax.numpy as jnp
    rows = []
    for name, text, ntkit_ns in SPEED_NETS:
        if only and name not in only:
            continue
        rng = np.random.default_rng(28)
        ns = sorted(set([nt_n] + list(ntkit_ns)))
        xs = {n: rng.standard_normal((n, 28, 28, 1)) for n in ns}
        row = {"name": name, "text": text, "nt_n": nt_n, "ntkit": []}
        # neural-tangents: jitted, one untimed call (compilation), then `repeats` timed calls.
        kfn = jax.jit(nt_conv_kernel_fn(text), static_argnames=("get",))
        xj = jnp.asarray(xs[nt_n])

        def nt_call():
            out = kfn(xj, None, get=("nngp", "ntk"))
            jax.block_until_ready(out)
            return out

        ref = nt_call()
        row["nt"], row["nt_times"] = C.median_time(nt_call, repeats)
        ref_ntk = np.asarray(ref[1], np.float64)
        del ref
        print(f"{name}: neural-tangents n = {nt_n}: {row['nt']:.2f} s "
              f"({row['nt'] / nt_n ** 2 * 1e3:.2f} ms per entry)", flush=True)
        for n in ns:
            path = os.path.join(workdir, f"speed_{name}_{n}.npy")
            np.save(path, xs[n])
            out = os.path.join(workdir, "Kspeed.npy")
            cmd = ntkit_cmd(binary, text, path, None, out)
            entry = {"n": n}
            proc = subprocess.run(cmd, capture_output=True, text=True)  # warm-up
            if proc.returncode != 0:
                entry["error"] = (proc.stderr.strip().splitlines() or ["?"])[0][:200]
                row["ntkit"].append(entry)
                print(f"{name}: ntkit n = {n}: {entry['error']}", flush=True)
                continue
            entry["cli"], entry["cli_times"] = C.median_time(
                lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)
            if n == nt_n:
                got = np.load(os.path.join(workdir, "Kspeed.ntk.npy")).astype(np.float64)
                entry["agree"] = C.rel_errors(got, ref_ntk)[0]
                entry["agree_off"] = C.masked_max_rel(got, ref_ntk, ~np.eye(n, dtype=bool))
            if module_python:
                proc = subprocess.run([module_python, "-c", MODULE_SNIPPET, text, path,
                                       str(repeats)], capture_output=True, text=True)
                if proc.returncode == 0:
                    res = json.loads(proc.stdout.strip().splitlines()[-1])
                    entry["module"], entry["module_times"] = res["median"], res["times"]
                else:
                    lines = [ln for ln in proc.stderr.strip().splitlines() if "rror" in ln]
                    entry["module_error"] = (lines or ["?"])[-1].strip()[:200]
            row["ntkit"].append(entry)
            per = entry["cli"] / n ** 2
            print(f"{name}: ntkit CLI n = {n}: {entry['cli']:.3f} s ({per * 1e3:.3f} ms per "
                  f"entry; ratio per entry {row['nt'] / nt_n ** 2 / per:.1f}x)"
                  + (f", module {entry['module']:.3f} s" if "module" in entry else "")
                  + (f"  [NTK max-rel {C.fmt(entry['agree'])}, off-diagonal "
                     f"{C.fmt(entry['agree_off'])}]" if "agree" in entry else ""), flush=True)
            os.remove(path)
        rows.append(row)
    return rows


# ---- Report --------------------------------------------------------------------------------


def write_conv_report(path, state):
    L = []
    L.append(f"# ntkit vs neural-tangents: convolutional kernels ({state['date']})\n")
    merged = state.get("merged") or {}
    L.append("Generated by `bash bench/neural_tangents/run.sh --conv` "
             "(bench/neural_tangents/conv.py); "
             + ("one run.\n" if not merged.get("copied") else
                "two runs: " + " and ".join(merged["copied"]) + " come from an earlier run, "
                "merged with `--merge` (the versions table names each part's ntkit).\n"))
    L.append("## Versions\n")
    L.append("| component | version |\n|---|---|")
    for k, v in state["versions"].items():
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("## Machine\n")
    L.append(f"{state['machine']}. Load average (1/5/15 min) before: {state['load_before']}; "
             f"after: {state['load_after']}. The machine (2 cores) is shared with other builds "
             "and tests, so absolute times are noisy. The ratios below compare medians "
             "measured in this one run, one network at a time.\n")
    rows = state.get("rows") or []
    if rows:
        L.append("## Agreement (float64)\n")
        L.append("Inputs: X1 has 5 and X2 has 3 standard normal examples of shape 8 × 7 × 3 "
                 "(2-D) or 11 × 3 (1-D). X2's second example equals X1's third. NNGP and NTK "
                 "of K(X1, X1) and K(X1, X2); each column is the worst over those. a = ntkit, "
                 "b = neural-tangents; max-rel = max|a − b| / max|b|; generic = max-rel over "
                 "the pairs of *different* examples (without the diagonal of K(X1, X1) and the "
                 "shared pair); ref = max-rel of each side against "
                 "`tests/python/conv_reference.py` (a naive NumPy recursion over the full "
                 "position × position covariance, docs/mathematics.md §7). Target: max-rel ≤ "
                 f"{TARGET:g}. Where only the identical-example pairs miss it, the reference "
                 "decides.\n")
        L.append("| network | NNGP max-rel | NTK max-rel | generic | ntkit vs ref | NT vs ref "
                 "| status |")
        L.append("|---|---|---|---|---|---|---|")
        for r in rows:
            if "nngp" in r:
                L.append(f"| {r['name']} | {C.fmt(r['nngp'])} | {C.fmt(r['ntk'])} | "
                         f"{C.fmt(r['generic'])} | {C.fmt(r['ntkit_vs_ref'])} | "
                         f"{C.fmt(r['nt_vs_ref'])} | {r['status']} |")
            else:
                L.append(f"| {r['name']} | | | | | | {r['status'].replace('|', '/')} |")
        done = [r for r in rows if "worst" in r]
        ok = [r for r in done if r["status"].startswith("ok")]
        L.append("")
        if done:
            L.append(f"{len(rows)} networks; {len(done)} compared, {len(ok)} ok "
                     f"(all entries ≤ {TARGET:g}: "
                     f"{sum(r['worst'] <= TARGET for r in done)}); worst max-rel "
                     f"{C.fmt(max(r['worst'] for r in done))}, worst generic "
                     f"{C.fmt(max(r['generic'] for r in done))}; ntkit vs reference worst "
                     f"{C.fmt(max(r['ntkit_vs_ref'] for r in done))}, neural-tangents vs "
                     f"reference worst {C.fmt(max(r['nt_vs_ref'] for r in done))}; "
                     f"{len(rows) - len(done)} not compared.\n")
        else:
            L.append(f"{len(rows)} networks; none compared.\n")
        L.append("Differences at the pairs of identical examples come from neural-tangents. "
                 "It computes an example's covariance with itself twice, once in `nngp` and "
                 "once in `cov1`, by differently shaped reductions that can differ in the last "
                 "bit. So its ReLU angle there is ~1e-8 instead of 0, and the NTK (Ṫ has "
                 "infinite slope at θ = 0) moves by ~1e-9 relative. This is the same cause as in "
                 "the MLP report (bench/neural_tangents/findings.md); ntkit and the reference "
                 "have θ = 0 exactly.\n")
        L.append("<details><summary>Network texts (identical for both sides)</summary>\n")
        for r in rows:
            L.append(f"- `{r['name']}`: `{r['text']}`")
        L.append("\n</details>\n")
    speed = state.get("speed") or []
    if speed:
        L.append("## Speed: NNGP + NTK of K(X, X), 28 × 28 × 1 images\n")
        L.append("neural-tangents: `jax.jit(kernel_fn)` with get=('nngp', 'ntk'), compiled and "
                 "warmed up by one call, `block_until_ready`, XLA CPU on both cores. It builds "
                 "the full position × position covariance of every pair, (28·28)² entries, and "
                 f"runs at n = {speed[0]['nt_n']} (memory: n² · 784² doubles per array). ntkit "
                 "CLI: the whole `ntkit kernel` process (start, reading X, writing both "
                 "n × n .npy files), after one warm-up run. Times are medians of "
                 f"{state['repeats']} run{'s' if state['repeats'] != 1 else ''}. 'per entry' = "
                 "time / n², over the n × n output (ntkit computes one triangle of K(X, X) and "
                 "mirrors it; neural-tangents computes all n² entries). The ratio is "
                 "neural-tangents' time per entry at its n / ntkit's time per entry at the "
                 "row's n (higher is better for ntkit). At the larger n it compares ntkit's "
                 "large-batch throughput with neural-tangents' at its n. neural-tangents' "
                 "per-entry time also falls somewhat with n (fixed costs), but its memory "
                 "keeps it at small n on this machine. 'agree' = NTK max-rel "
                 "between the two timed results at neural-tangents' n, all entries / off the "
                 "diagonal (the diagonal carries neural-tangents' θ rounding, see above).\n")
        for r in speed:
            L.append(f"**{r['name']}**: `{r['text']}`\n")
            L.append(f"neural-tangents, n = {r['nt_n']}: {r['nt']:.2f} s, "
                     f"{r['nt'] / r['nt_n'] ** 2 * 1e3:.2f} ms per entry (runs: "
                     + ", ".join(f"{t:.2f}" for t in r["nt_times"]) + " s).\n")
            has_mod = any("module" in e for e in r["ntkit"])
            L.append("| ntkit n | ntkit CLI (s) | per entry (ms) | ratio per entry |"
                     + (" ntkit module (s) | ratio (module) |" if has_mod else "") + " agree |")
            L.append("|---|---|---|---|" + ("---|---|" if has_mod else "") + "---|")
            nt_per = r["nt"] / r["nt_n"] ** 2
            for e in r["ntkit"]:
                if "cli" not in e:
                    L.append(f"| {e['n']} | {e.get('error', '?')} | | |"
                             + (" | |" if has_mod else "") + " |")
                    continue
                per = e["cli"] / e["n"] ** 2
                mod = ""
                if has_mod:
                    mod = (f" {e['module']:.3f} | {nt_per / (e['module'] / e['n'] ** 2):.1f}x |"
                           if "module" in e else " | |")
                agree = (f"{C.fmt(e['agree'])} / {C.fmt(e['agree_off'])}" if "agree" in e
                         else "")
                L.append(f"| {e['n']} | {e['cli']:.3f} | {per * 1e3:.3f} | "
                         f"{nt_per / per:.1f}x |{mod} {agree} |")
            L.append("\nRaw ntkit CLI times (s): " + "; ".join(
                f"n = {e['n']}: " + ", ".join(f"{t:.3f}" for t in e["cli_times"])
                for e in r["ntkit"] if "cli_times" in e) + ".")
            errs = sorted({e["module_error"] for e in r["ntkit"] if "module_error" in e})
            if errs and not has_mod:
                L.append(f"The Python module was not timed (`ntkit.kernel` on 4-D input: "
                         f"{errs[0]}).")
            L.append("")
        L.append("Myrtle-5-like: the network of the brief with Myrtle's stride-2 pools. "
                 "neural-tangents' AvgPool defaults to stride 1, so `AvgPool((2, 2))` alone "
                 "would not downsample. CNTK-GAP at depth 11 (Arora et al. 2019): ten "
                 "3 × 3 SAME Conv-Relu layers with W_std = √2 and no bias, global average "
                 "pooling, a Dense readout. The global pool needs every position pair, so it "
                 "is the worst case for ntkit's offset bands (docs/mathematics.md §7).\n")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {path}")


def merge_conv_state(state, old, only):
    """--merge OLD.json: the sections this run skipped are copied from OLD; with --only, this
    run's agreement rows replace OLD's rows of the same name (new names are appended) and the
    other rows are kept. The report keeps OLD's date, and the versions table's ntkit entries
    name the binary of each part."""
    state["date"] = old.get("date", state["date"])
    state["merged"] = {}
    copied = []
    if not state["speed"] and old.get("speed"):
        state["speed"], state["repeats"] = old["speed"], old.get("repeats", state["repeats"])
        # the machine paragraph (load, "this one run") belongs to the timings
        for key in ("machine", "load_before", "load_after"):
            state[key] = old.get(key, state[key])
        copied.append("speed")
    if not state["rows"] and old.get("rows"):
        state["rows"] = old["rows"]
        copied.append("agreement")
    elif only and state["rows"] and old.get("rows"):
        this_run = [r["name"] for r in state["rows"]]
        fresh = {r["name"]: r for r in state["rows"]}
        state["rows"] = [fresh.pop(r["name"], r) for r in old["rows"]] + list(fresh.values())
        state["merged"]["this_run"] = this_run
        copied.append("the other agreement rows")
    if copied:
        state["merged"]["copied"] = copied
        ov = old.get("versions", {})
        for key in ("ntkit", "ntkit binary"):
            if ov.get(key) and ov[key] != state["versions"].get(key):
                mine = (f"the rows {', '.join(state['merged']['this_run'])}"
                        if "this_run" in state["merged"] else "this run's sections")
                state["versions"][key] = (f"{state['versions'].get(key, '?')} for {mine}; "
                                          f"{ov[key]} for {' and '.join(copied)}")


def main_conv(args, binary):
    load_before = C.sh("cut -d' ' -f1-3 /proc/loadavg")
    only = set(args.only.split(",")) - {""}
    rows, speed = [], []
    import tempfile
    with tempfile.TemporaryDirectory(prefix="ntkit-nt-conv-") as workdir:
        if not args.skip_agreement:
            n = len([c for c in CONV_CASES if not only or c[0] in only])
            # (with --only naming only speed networks, no agreement rows run)
            print(f"== convolutional agreement: {n} networks (float64)", flush=True)
            rows = run_conv_agreement(binary, workdir, only)
        if not args.skip_speed:
            print("== convolutional speed (28 x 28 x 1)", flush=True)
            exe, _ = C.find_ntkit_module_python()
            speed = run_conv_speed(binary, workdir, args.conv_speed_n, args.repeats, exe, only)
    vers = C.versions(binary)
    if os.environ.get("NTKIT_SOURCE"):  # a binary built outside a checkout, e.g. from git archive
        vers["ntkit"] = os.environ["NTKIT_SOURCE"]
    state = {"versions": vers, "machine": C.machine_facts(),
             "load_before": load_before, "load_after": C.sh("cut -d' ' -f1-3 /proc/loadavg"),
             "rows": rows, "speed": speed, "repeats": args.repeats,
             "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")}
    if args.merge:
        with open(args.merge) as f:
            old = json.load(f)
        merge_conv_state(state, old, only)
    if not args.no_report:
        os.makedirs(args.out, exist_ok=True)
        base = os.path.join(args.out, f"{state['date']}-neural-tangents-conv")
        with open(base + ".json", "w") as f:
            json.dump(state, f, indent=1)
        write_conv_report(base + ".md", state)
