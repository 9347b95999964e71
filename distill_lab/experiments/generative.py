"""Generative distillation against random real images at the same count (issue 5): a conditional
GAN and a DDPM (Ho et al. 2020) sampling a set, each also generate-then-select, and distribution
matching (DM, Zhao & Bilen 2023), under the evaluation protocol of docs/design.md §2.

    distill-lab bench generative --quick                # digits on the CPU, a few minutes
    distill-lab bench generative --dataset mnist
    distill-lab bench generative --dataset mnist --methods dm random --dm-iterations 200 \\
        --dm-width 64                                    # DM vs random only, CPU-sized DM

--methods picks the rows (default: all); a generator is trained only when one of its rows is asked
for. Writes OUT/generative_<dataset>.json: result rows with `ipc` (images per class),
generator_seconds (the shared generator's training, included in selection_seconds),
label_fidelity, fd_convnet (Frechet distance on the project's ConvNet embedding, not FID) and
break_even (trainings after which the generator has paid for itself), `device` (evaluation) and
`device_select` (where the set was made: the generators, the reference proxy and DM all run on the
protocol's device, resolved once; random picks on numpy, 'cpu'); and a .meta.json beside it.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from functools import partial

import numpy as np
from tqdm.auto import tqdm

from distill_lab import data
from distill_lab._io import atomic_write_json
from distill_lab._validation import resolve_device
from distill_lab.evaluation import default_protocol, evaluate_synthetic, run_full
from distill_lab.experiments.options import (add_common_options, flat, positive_int,
                                             result_stem, write_rows)
from distill_lab.generative import (ConditionalDDPM, ConditionalGAN, DistributionMatching,
                                    bill_distillation_time, embedding_frechet_distance,
                                    generate_then_select, label_fidelity)
from distill_lab.proxy import fit_proxy

__all__ = ["Size", "SIZES", "METHODS", "run_generative", "add_arguments", "run", "SUMMARY"]

SUMMARY = "GAN, diffusion, generate-then-select and DM against random real images"


@dataclass(frozen=True)
class Size:
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
SIZES = {
    "smoke": Size(gan_steps=10, ddpm_steps=10, dm_iterations=3, width=8, ddim_steps=3,
                  reference_epochs=0.2),
    "quick": Size(gan_steps=1500, ddpm_steps=1500, dm_iterations=200, width=32,
                  reference_epochs=10.0),
    "full": Size(gan_steps=6000, ddpm_steps=8000, dm_iterations=1000, width=64, ddim_steps=50,
                 reference_epochs=2.0),
}


def per_class_random(y, k, seed):
    """k random real images of every class (seeded): the baseline at the same count."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                           for c in np.unique(y)])


def check_methods(methods):
    """The asked-for rows, in METHODS order; an unknown name is an error that lists the known."""
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods={list(methods)!r}: each must be one of {list(METHODS)} "
                         "(at least one)")
    return tuple(m for m in METHODS if m in methods)


# ----------------------------------------------------------------------------- the sets
# make_set(seed) -> (X, y, weights) for each row, as evaluate_synthetic expects.
def random_set(ds, k, seed):
    i = per_class_random(ds.y_train, k, seed)
    return ds.X_train[i], ds.y_train[i], None


def generated_set(generator, k, sample_kw, seed):
    return (*generator.distill(k, random_state=seed, **sample_kw), None)


def selected_set(generator, k, reference, sample_kw, seed):
    return (*generate_then_select(generator, k, embed_model=reference, random_state=seed,
                                  **sample_kw), None)


def dm_set(ds, k, dm_kw, seed):
    dm = DistributionMatching(n_per_class=k, random_state=seed, **dm_kw).fit(ds.X_train, ds.y_train)
    return dm.X_syn_, dm.y_syn_, None


class SeedCache:
    """make_set remembered per seed, so the quality probe reuses seed 0's set (DM fits once)."""

    def __init__(self, make_set):
        self.make_set, self.sets = make_set, {}

    def __call__(self, seed):
        if seed not in self.sets:
            self.sets[seed] = self.make_set(seed)
        return self.sets[seed]


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


def set_makers(ds, k, gan, ddpm, reference, t_ref, cfg, dm_kw):
    """(method, make_set, seconds of shared training billed to it) for every method, in METHODS
    order; a generator's rows only when it was trained."""
    makers = [("random", partial(random_set, ds, k), 0.0)]
    for name, gen, kw in (("gan", gan, {}),
                          ("diffusion", ddpm, {"n_steps": cfg.ddim_steps,
                                               "guidance_scale": cfg.guidance})):
        if gen is not None:
            makers += [(name, partial(generated_set, gen, k, kw), gen.train_seconds_),
                       (f"{name}+select", partial(selected_set, gen, k, reference, kw),
                        gen.train_seconds_ + t_ref)]
    makers.append(("dm", partial(dm_set, ds, k, dm_kw), 0.0))
    return makers


def with_generator_cost(row, full, generator_seconds, extra):
    """Bill the shared generator's training to this row, as distillation time; break_even counts
    the whole cost of making the set (generator + sampling + selection, or DM's optimization).
    The row's own selection_seconds (sampling, selection) are measured per seed."""
    return bill_distillation_time(row, full, row["selection_seconds"] + generator_seconds,
                                  generator_seconds=generator_seconds, **extra)


def quality(reference, ds, X_syn, y_syn):
    return {"label_fidelity": label_fidelity(reference, X_syn, y_syn),
            "fd_convnet": embedding_frechet_distance(reference, ds.X_train, X_syn)}


def set_device(method, gan, ddpm, device) -> str:
    """The device a method's set is made on: random picks on numpy ('cpu'), a generator's samples
    where it trained (the +select reference embeds on `device` too), DM on `device`."""
    generator = {"gan": gan, "diffusion": ddpm}.get(method.split("+")[0])
    return "cpu" if method == "random" else str(generator.device_ if generator else device)


def method_row(ds, method, k, make_set, generator_seconds, protocol, full, reference,
               device_select=None):
    """One row: the set made and trained on for every seed, its quality probed on seed 0's set."""
    make_set = SeedCache(make_set)
    row = evaluate_synthetic(ds, method, make_set, protocol, full, budget=k * ds.n_classes,
                             device_select=device_select)
    row["ipc"] = k
    X, y, _ = make_set(0)
    return with_generator_cost(row, full, generator_seconds, quality(reference, ds, X, y))


# ----------------------------------------------------------------------------- the run
def run_generative(dataset, *, size="full", device="auto", seeds=(0, 1, 2), ipcs=(10, 50),
                   methods=METHODS, overrides=None, n_train=None, verbose=False):
    """Rows and meta of one benchmark. `size`: smoke, quick or full (SIZES); `overrides` replaces
    Size fields (e.g. dm_iterations); `n_train` a stratified training subsample. `device` is
    resolved once, before any work, and every phase (evaluation, reference proxy, GAN, DDPM, DM)
    runs on it."""
    device = str(resolve_device(device))  # a missing GPU fails before the data is loaded
    ds = data.load(dataset)
    if n_train is not None:
        ds = data.subsample(ds, n_train, random_state=0)
    methods = check_methods(methods)
    cfg = replace(SIZES[size], **{k: v for k, v in (overrides or {}).items() if v is not None})
    dm_width = cfg.dm_width or (32 if size == "quick" else cfg.width * 4)
    protocol = default_protocol(ds, seeds=seeds, device=device)
    full = run_full(ds, protocol, verbose=verbose)
    start = time.perf_counter()
    reference = fit_proxy(ds.X_train, ds.y_train, n_classes=ds.n_classes,
                          image_shape=ds.image_shape, model="convnet",
                          epochs=cfg.reference_epochs, device=protocol.device, random_state=0)
    t_ref = time.perf_counter() - start
    gan, ddpm = train_generators(ds, cfg, protocol.device, verbose, methods)
    dm_kw = dict(image_shape=ds.image_shape, n_classes=ds.n_classes, iterations=cfg.dm_iterations,
                 width=dm_width, device=protocol.device, verbose=verbose)
    jobs = [(k, *maker) for k in ipcs
            for maker in set_makers(ds, k, gan, ddpm, reference, t_ref, cfg, dm_kw)
            if maker[0] in methods]
    rows = [method_row(ds, method, k, make_set, cost, protocol, full, reference,
                       set_device(method, gan, ddpm, protocol.device))
            for k, method, make_set, cost in tqdm(jobs, desc=f"generative {ds.name}",
                                                  disable=not verbose)]
    meta = {"dataset": ds.name, "size": size, "ipcs": list(ipcs), "config": asdict(cfg),
            "methods": list(methods), "dm_width": dm_width,
            "gan_seconds": gan.train_seconds_ if gan is not None else None,
            "ddpm_seconds": ddpm.train_seconds_ if ddpm is not None else None,
            "reference_seconds": t_ref, "full_seconds": full.median_seconds,
            "full_steps": full.steps}
    return rows, meta


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default="digits", choices=["digits", "mnist"])
    parser.add_argument("--quick", action="store_true", help="digits-sized steps for the CPU")
    parser.add_argument("--ipcs", "--per-class", nargs="+", default=["10", "50"], metavar="K",
                        help="images per class (default: 10 50)")
    parser.add_argument("--n-train", type=positive_int, default=None,
                        help="stratified training subsample")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), metavar="NAME",
                        help=f"rows to run, from {' '.join(METHODS)} (default: all)")
    parser.add_argument("--dm-iterations", type=positive_int, default=None,
                        help="DM iterations (default: the size's, e.g. 1000 in full mode)")
    parser.add_argument("--dm-width", type=positive_int, default=None,
                        help="width of DM's random ConvNets (default: 32 quick, else 4 * width)")
    parser.add_argument("--width", type=positive_int, default=None, help="GAN / DDPM width")
    parser.add_argument("--verbose", action="store_true", help="progress bars")
    add_common_options(parser)


def run(args, command: str) -> int:
    """`distill-lab bench generative`: OUT/generative_<dataset>.json and its .meta.json."""
    methods = check_methods(flat(args.methods))
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    overrides = {"dm_iterations": args.dm_iterations, "dm_width": args.dm_width,
                 "width": args.width}
    start = time.perf_counter()
    rows, meta = run_generative(args.dataset, size=size, device=args.device,
                                seeds=tuple(args.seeds), ipcs=tuple(flat(args.ipcs, int)),
                                methods=methods, overrides=overrides, n_train=args.n_train,
                                verbose=args.verbose)
    meta.update(wall_seconds=time.perf_counter() - start, command=command)  # data loading included
    stem = result_stem(f"generative_{args.dataset}", args.smoke)
    path = write_rows(args.out, stem, rows)
    atomic_write_json(path.with_suffix(".meta.json"), meta)
    for r in rows:
        print(f"{r['method']:<17} {r['ipc']:>3}/class  accuracy {r['accuracy_mean']:5.1f} ± "
              f"{r['accuracy_std']:.1f}  making the set {r['selection_seconds']:7.2f} s")
    print(f"wrote {len(rows)} rows to {path}")
    return 0
