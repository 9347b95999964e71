"""Benchmark of generative distillation (issue 5): GAN, diffusion, DM and generate-then-select
against random real images at the same count, under the evaluation protocol of docs/design.md §2.

    python benchmarks/generative.py --quick                 # digits on the CPU, a few minutes
    python benchmarks/generative.py --dataset mnist --device auto
    python benchmarks/generative.py --dataset mnist --methods dm,random --dm-iterations 200 \
        --dm-width 64                                        # DM vs random only, CPU-sized DM

--methods picks the rows to run (default: all); a generator is trained only when one of its rows
is asked for. --dm-iterations / --dm-width / --width override the chosen size's defaults.

Writes benchmarks/results/generative_<dataset>.json: rows with the docs/design.md §3 fields plus
generator_seconds (training time of the shared generator, included in selection_seconds),
label_fidelity, fd_convnet (Frechet distance on the project's ConvNet embedding, not FID) and
break_even (trainings after which the generator has paid for itself).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from distill_lab import data
from distill_lab._io import atomic_write_json
from distill_lab.evaluation import default_protocol, evaluate_synthetic, run_full
from distill_lab.generative import (ConditionalDDPM, ConditionalGAN, DistributionMatching,
                                    bill_distillation_time, embedding_frechet_distance,
                                    generate_then_select, label_fidelity)
from distill_lab.proxy import fit_proxy


@dataclass(frozen=True)
class Budget:
    """Steps and widths of one run size."""

    gan_steps: int
    ddpm_steps: int
    dm_iterations: int
    width: int
    ddim_steps: int = 20
    guidance: float = 2.0
    reference_epochs: float = 3.0
    dm_width: int | None = None  # None: 32 in quick mode, else 4 * width


METHODS = ("random", "gan", "gan+select", "diffusion", "diffusion+select", "dm")


SMOKE = Budget(gan_steps=10, ddpm_steps=10, dm_iterations=3, width=8, ddim_steps=3,
               reference_epochs=0.2)
QUICK = Budget(gan_steps=1500, ddpm_steps=1500, dm_iterations=200, width=32,
               reference_epochs=10.0)
FULL = Budget(gan_steps=6000, ddpm_steps=8000, dm_iterations=1000, width=64, ddim_steps=50,
              reference_epochs=2.0)


def per_class_random(y, k, seed):
    """k random real images of every class (seeded): the baseline at the same count."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                           for c in np.unique(y)])


def with_generator_cost(row, full, generator_seconds, extra):
    """Bill the shared generator's training to this row, as distillation time; break_even counts
    the whole cost of making the set (generator + sampling + selection, or DM's optimization).
    The row's own selection_seconds (sampling, selection) are measured per seed."""
    return bill_distillation_time(row, full, row["selection_seconds"] + generator_seconds,
                                  generator_seconds=generator_seconds, **extra)


def quality(reference, ds, X_syn, y_syn):
    return {"label_fidelity": label_fidelity(reference, X_syn, y_syn),
            "fd_convnet": embedding_frechet_distance(reference, ds.X_train, X_syn)}


def check_methods(methods):
    """The asked-for rows, in METHODS order; an unknown name is an error that lists the known."""
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods={list(methods)!r}: each must be one of {list(METHODS)} "
                         "(at least one)")
    return tuple(m for m in METHODS if m in methods)


def train_generators(ds, cfg, device, verbose, methods=METHODS):
    """The GAN and the DDPM, each trained only when one of its rows is asked for (else None)."""
    shape, C = ds.image_shape, ds.n_classes
    gan = ddpm = None
    if {"gan", "gan+select"} & set(methods):
        gan = ConditionalGAN(shape, C, width=cfg.width, z_dim=64, device=device, random_state=0,
                             verbose=verbose).fit(ds.X_train, ds.y_train, steps=cfg.gan_steps)
    if {"diffusion", "diffusion+select"} & set(methods):
        ddpm = ConditionalDDPM(shape, C, width=cfg.width, device=device, random_state=0,
                               verbose=verbose).fit(ds.X_train, ds.y_train, steps=cfg.ddpm_steps)
    return gan, ddpm


def run(dataset, quick, device, seeds, per_class, verbose, smoke=False, methods=METHODS,
        overrides=None, n_train=None):
    """Rows and meta of one benchmark; `overrides` replaces Budget fields (e.g. dm_iterations);
    `n_train` a stratified training subsample (smoke runs)."""
    ds = data.load(dataset)
    if n_train is not None:
        ds = data.subsample(ds, n_train, random_state=0)
    methods = check_methods(methods)
    cfg = SMOKE if smoke else QUICK if quick else FULL
    cfg = replace(cfg, **{k: v for k, v in (overrides or {}).items() if v is not None})
    dm_width = cfg.dm_width or (32 if quick else cfg.width * 4)
    protocol = default_protocol(ds, seeds=seeds, device=device)
    full = run_full(ds, protocol, verbose=verbose)
    start = time.perf_counter()
    reference = fit_proxy(ds.X_train, ds.y_train, n_classes=ds.n_classes,
                          image_shape=ds.image_shape, model="convnet",
                          epochs=cfg.reference_epochs, device=device, random_state=0)
    t_ref = time.perf_counter() - start
    gan, ddpm = train_generators(ds, cfg, device, verbose, methods)
    sample_kw = {"n_steps": cfg.ddim_steps, "guidance_scale": cfg.guidance}
    rows = []
    for k in per_class:
        def row(method, make_set, gen_seconds=0.0, probe=None):
            if method not in methods:
                return
            r = evaluate_synthetic(ds, method, make_set, protocol, full,
                                   budget=k * ds.n_classes / len(ds.y_train))
            r["n_per_class"] = k
            probe = probe() if callable(probe) else probe  # (X, y) probed for quality
            extra = quality(reference, ds, *probe) if probe is not None else {}
            rows.append(with_generator_cost(r, full, gen_seconds, extra))
            print(json.dumps({key: rows[-1][key] for key in
                              ("method", "n_selected", "accuracy_mean", "accuracy_std",
                               "selection_seconds")}), flush=True)

        def random_set(s):
            i = per_class_random(ds.y_train, k, s)
            return ds.X_train[i], ds.y_train[i], None
        row("random", random_set, probe=random_set(0)[:2])
        for name, gen, kw in (("gan", gan, {}), ("diffusion", ddpm, sample_kw)):
            if gen is None:
                continue
            row(name, lambda s, g=gen, kw=kw: (*g.distill(k, random_state=s, **kw), None),
                gen.train_seconds_, probe=lambda g=gen, kw=kw: g.distill(k, random_state=0, **kw))
            row(f"{name}+select", lambda s, g=gen, kw=kw: (*generate_then_select(
                g, k, embed_model=reference, random_state=s, **kw), None),
                gen.train_seconds_ + t_ref,
                probe=lambda g=gen, kw=kw: generate_then_select(g, k, embed_model=reference,
                                                                random_state=0, **kw))
        dm_kw = dict(n_per_class=k, image_shape=ds.image_shape, n_classes=ds.n_classes,
                     iterations=cfg.dm_iterations, width=dm_width, device=device, verbose=verbose)
        dm_sets = {}  # seed -> (X_syn, y_syn): the probe reuses seed 0's set, fitted (and timed) once

        def dm_set(s):
            dm = DistributionMatching(random_state=s, **dm_kw).fit(ds.X_train, ds.y_train)
            dm_sets[s] = dm.X_syn_, dm.y_syn_
            return dm.X_syn_, dm.y_syn_, None
        row("dm", dm_set, probe=lambda: dm_sets.get(0) or dm_set(0)[:2])
    meta = {"dataset": ds.name, "quick": quick, "per_class": list(per_class), "config": vars(cfg),
            "methods": list(methods), "dm_width": dm_width, "smoke": smoke,
            "gan_seconds": gan.train_seconds_ if gan is not None else None,
            "ddpm_seconds": ddpm.train_seconds_ if ddpm is not None else None,
            "reference_seconds": t_ref, "full_seconds": full.median_seconds,
            "full_steps": full.steps}
    return rows, meta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=["digits", "mnist"])
    parser.add_argument("--quick", action="store_true", help="digits-sized steps for the CPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-class", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--out", default=None)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps: checks the script runs")
    parser.add_argument("--n-train", type=int, default=None, help="stratified training subsample")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated rows to run, from {','.join(METHODS)} (default: all)")
    parser.add_argument("--dm-iterations", type=int, default=None,
                        help="DM iterations (default: the size's, e.g. 1000 in full mode)")
    parser.add_argument("--dm-width", type=int, default=None,
                        help="width of DM's random ConvNets (default: 32 quick, else 4 * width)")
    parser.add_argument("--width", type=int, default=None, help="GAN / DDPM width")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        methods = check_methods(methods)
    except ValueError as err:
        parser.error(str(err))
    overrides = {"dm_iterations": args.dm_iterations, "dm_width": args.dm_width,
                 "width": args.width}
    for name, value in overrides.items():
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')}={value} must be >= 1")
    start = time.perf_counter()
    rows, meta = run(args.dataset, args.quick, args.device, tuple(args.seeds), args.per_class,
                     args.verbose, smoke=args.smoke, methods=methods, overrides=overrides,
                     n_train=args.n_train)
    meta["wall_seconds"] = time.perf_counter() - start  # the whole run, data loading included
    out = Path(args.out or Path(__file__).parent / "results" / f"generative_{args.dataset}.json")
    atomic_write_json(out, rows)
    atomic_write_json(out.with_suffix(".meta.json"), meta)
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main()
