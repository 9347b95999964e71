"""The paper table's generative and embedding rows (issue 20): plain GAN and diffusion samples,
the routes that optimize a generator's output for the task (`gan_latent_dm`, IT-GAN / GLaD;
`diffusion_prototypes`, D4M; `dm_from_generated`, DM started from a generated set), and herding /
k-center on the embeddings of a ConvNet-3 trained on the full data (`herding_embed`,
`kcenter_embed`).

Every seed makes its own set (generator samples, latent codes, K-means and the embedding
network, DM's start, the selector's proxy) and trains its own evaluation network, so mean ± std
is over independent distilled sets; each row says so in `seed_varies`. The GAN and the DDPM are
trained once per configuration (seed 0) and shared by every row and seed; with a checkpoint
folder a re-run loads them instead of training again. A row's cost is `generator_seconds` (the
shared training, billed in full to every row that uses it, as `distill-lab bench generative`
does) plus `synthesis_seconds` (the median over seeds of making the set); `selection_seconds` is
their sum. Within one table a seed's embedding ConvNet-3 is trained once and shared by
`herding_embed`, `kcenter_embed` and `diffusion_prototypes` at every images-per-class, and
`dm_from_generated` starts from the very set its `dm_init` row was scored on; each reuse is billed
what making it took, so a row's cost is what it would cost alone. Extra row fields:
generator_seconds, synthesis_seconds, cost_seconds, seed_varies and the route's settings.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from distill_lab.evaluation.protocol import evaluate_selector, evaluate_synthetic
from distill_lab.generative import (ConditionalDDPM, ConditionalGAN, DistributionMatching,
                                    diffusion_prototypes, gan_latent_dm)
from distill_lab.proxy import bill_reuse, billed_seconds, proxy_outputs

__all__ = ["ROUTE_METHODS", "GENERATIVE_METHODS", "EMBED_METHODS", "SEED_VARIES", "Generators",
           "route_row", "format_cost_table", "route_summary"]

GENERATIVE_METHODS = ("gan", "diffusion", "gan_latent_dm", "diffusion_prototypes",
                      "dm_from_generated")
EMBED_METHODS = ("herding_embed", "kcenter_embed")
ROUTE_METHODS = GENERATIVE_METHODS + EMBED_METHODS
# What one seed of a row changes, besides the evaluation network's initialization and batches.
SEED_VARIES = {
    "random": "the picks and the evaluation",
    "herding": "the evaluation only (herding on pixels is deterministic)",
    "kcenter": "k-center's first pick per class and the evaluation",
    "dm": "DM's starting images, embedders and augmentation, and the evaluation",
    "dm_mmd": "DM's starting images, embedders and augmentation, and the evaluation",
    "gan": "the GAN's samples and the evaluation (GAN trained once, seed 0)",
    "diffusion": "the DDPM's samples and the evaluation (DDPM trained once, seed 0)",
    "gan_latent_dm": "the initial codes, DM's embedders and augmentation, and the evaluation "
                     "(GAN trained once, seed 0)",
    "diffusion_prototypes": "the embedding ConvNet-3, K-means, the noise, and the evaluation "
                            "(DDPM trained once, seed 0)",
    "dm_from_generated": "the generated start set, DM's embedders and augmentation, and the "
                         "evaluation (generators trained once, seed 0)",
    "herding_embed": "the embedding ConvNet-3 (trained per seed) and the evaluation",
    "kcenter_embed": "the embedding ConvNet-3, k-center's first pick, and the evaluation",
}
_NEEDS = {"gan": "gan", "gan_latent_dm": "gan", "diffusion": "ddpm",
          "diffusion_prototypes": "ddpm"}


class Generators:
    """The GAN and the DDPM of one run, each trained (or loaded from `checkpoint_dir`) the first
    time a row asks for it. A checkpoint's name holds the data set, its size and the width (and
    the GAN's discriminator); its metadata (every setting, a fingerprint of the data) must match,
    else CheckpointError."""

    def __init__(self, dataset, config, device, verbose=False):
        self.dataset, self.config, self.device, self.verbose = dataset, config, device, verbose
        self._fitted = {}
        self._sets = {}

    def made_set(self, method, ipc, seed, make):
        """`make()`'s (X, y, None) for this route, images per class and seed, made once per run:
        `dm_from_generated` starts from the very set its `dm_init` row was scored on. A reuse is
        billed what making the set took (`proxy.bill_reuse`), so every row costs what it would
        alone."""
        key = (method, int(ipc), int(seed))
        if key in self._sets:
            made, seconds = self._sets[key]
            bill_reuse(seconds)
            return made
        start, billed = time.perf_counter(), billed_seconds()
        made = make()
        self._sets[key] = (made, time.perf_counter() - start + billed_seconds() - billed)
        return made

    def _path(self, kind, width, suffix=""):
        if self.config.checkpoint_dir is None:
            return None
        ds = self.dataset
        name = f"{kind}_{ds.name}_n{len(ds.y_train)}_w{width}{suffix}.pt"
        return Path(self.config.checkpoint_dir) / name

    def get(self, kind):
        if kind not in self._fitted:
            ds, c = self.dataset, self.config
            if kind == "gan":
                model = ConditionalGAN(ds.image_shape, ds.n_classes, width=c.gan_width, z_dim=64,
                                       loss=c.gan_loss, discriminator=c.gan_discriminator,
                                       mode_seeking=c.gan_mode_seeking,
                                       device=self.device, random_state=0, verbose=self.verbose)
                steps, width, suffix = c.gan_steps, c.gan_width, f"_{c.gan_discriminator}"
            else:
                model = ConditionalDDPM(ds.image_shape, ds.n_classes, width=c.ddpm_width,
                                        device=self.device, random_state=0, verbose=self.verbose)
                steps, width, suffix = c.ddpm_steps, c.ddpm_width, ""
            model.fit(ds.X_train, ds.y_train, steps=steps,
                      checkpoint_path=self._path(kind, width, suffix))
            self._fitted[kind] = model
        return self._fitted[kind]

    def seconds(self, kinds) -> float:
        """Training seconds of the generators named (as recorded, also for a loaded one)."""
        return float(sum(self.get(k).train_seconds_ for k in kinds))

    def meta(self, kinds) -> dict:
        out = {}
        for k in kinds:
            m = self.get(k)
            out.update({f"{k}_steps": int(m.step_), f"{k}_width": int(m.width),
                        f"{k}_seconds": float(m.train_seconds_)})
            if k == "gan":
                out.update(gan_discriminator=m.discriminator, gan_loss=m.loss,
                           gan_mode_seeking=m.mode_seeking)
        return out


def _embedder_features(dataset, config, device, seed):
    """Embeddings (n, d) of a ConvNet-3 trained on the full data for `embed_epochs`: the very
    proxy `herding_embed` and `kcenter_embed` train with this seed (a selector draws its proxy's
    seed as the first number of RandomState(seed)), so inside `shared_proxies()` the three rows
    of a seed share one network, each billed its training."""
    proxy_seed = np.random.RandomState(seed).randint(2**31 - 1)
    return proxy_outputs(dataset.X_train, dataset.y_train, model="convnet3",
                         epochs=config.embed_epochs, image_shape=dataset.image_shape,
                         device=device, random_state=proxy_seed)["embeddings"]


def _set_maker(method, dataset, ipc, protocol, config, gens):
    """make_set(seed) -> (X, y, None) for a generative route; a set other than DM's is made once
    per run and seed (`Generators.made_set`)."""
    make = _new_set_maker(method, dataset, ipc, protocol, config, gens)
    if method == "dm_from_generated":
        return make
    return lambda seed: gens.made_set(method, ipc, seed, lambda: make(seed))


def _new_set_maker(method, dataset, ipc, protocol, config, gens):
    X, y, dev = dataset.X_train, dataset.y_train, protocol.device
    dm_kw = dict(batch_real=config.dm_batch_real, width=config.width,
                 strategy=protocol.config.augment, device=dev)
    if method == "gan":
        return lambda seed: (*gens.get("gan").distill(ipc, random_state=seed), None)
    if method == "diffusion":
        return lambda seed: (*gens.get("ddpm").distill(
            ipc, random_state=seed, n_steps=config.ddim_steps,
            guidance_scale=config.guidance), None)
    if method == "gan_latent_dm":
        return lambda seed: (*gan_latent_dm(
            gens.get("gan"), X, y, ipc, iterations=config.latent_iterations, lr=config.latent_lr,
            random_state=seed, **dm_kw), None)
    if method == "diffusion_prototypes":
        return lambda seed: (*diffusion_prototypes(
            gens.get("ddpm"), X, y, ipc, features=_embedder_features(dataset, config, dev, seed),
            t_star=config.t_star, n_steps=config.ddim_steps, guidance_scale=config.guidance,
            device=dev, random_state=seed), None)
    if method == "dm_from_generated":
        start = _set_maker(config.dm_init, dataset, ipc, protocol, config, gens)

        def make(seed):
            X0, y0, _ = start(seed)
            dm = DistributionMatching(ipc, dataset.image_shape, dataset.n_classes,
                                      iterations=config.dm_iterations, random_state=seed,
                                      verbose=False, **dm_kw)
            return dm.fit(X, y, X_init=X0, y_init=y0).X_syn_, dm.y_syn_, None
        return make
    raise ValueError(f"method={method!r} is not a generative route; use one of "
                     f"{list(GENERATIVE_METHODS)}")


def _generators_of(method, config):
    if method == "dm_from_generated":
        return _generators_of(config.dm_init, config)
    return (_NEEDS[method],) if method in _NEEDS else ()


def route_row(dataset, method, ipc, protocol, full, config, gens) -> dict:
    """One paper-table row of a route in ROUTE_METHODS, with its cost and `seed_varies`."""
    budget = ipc * dataset.n_classes
    if method in EMBED_METHODS:
        row = evaluate_selector(dataset, method.removesuffix("_embed"), budget, protocol, full,
                                label=method, class_balanced=True, features="embedding",
                                proxy_model="convnet3", proxy_epochs=config.embed_epochs,
                                image_shape=dataset.image_shape)
        return {**row, "generator_seconds": 0.0, "synthesis_seconds": row["selection_seconds"],
                "cost_seconds": row["selection_seconds"], "embed_epochs": config.embed_epochs,
                "seed_varies": SEED_VARIES[method]}
    kinds = _generators_of(method, config)
    generator_seconds = gens.seconds(kinds)            # trains (or loads) before any timing
    row = evaluate_synthetic(dataset, method, _set_maker(method, dataset, ipc, protocol, config,
                                                         gens), protocol, full, budget=budget)
    synthesis = row["selection_seconds"]
    settings = {"ddim_steps": config.ddim_steps, "guidance": config.guidance} \
        if "ddpm" in kinds else {}
    if method == "gan_latent_dm":
        settings.update(latent_iterations=config.latent_iterations, latent_lr=config.latent_lr)
    if method == "diffusion_prototypes" or (method == "dm_from_generated"
                                            and config.dm_init == "diffusion_prototypes"):
        settings.update(t_star=config.t_star, embed_epochs=config.embed_epochs)
    if method == "dm_from_generated":
        settings.update(dm_init=config.dm_init, dm_iterations=config.dm_iterations)
    return {**row, **settings, **gens.meta(kinds), "generator_seconds": generator_seconds,
            "synthesis_seconds": synthesis, "cost_seconds": generator_seconds + synthesis,
            "selection_seconds": generator_seconds + synthesis,
            "seed_varies": SEED_VARIES[method]}


def format_cost_table(rows) -> str:
    """Markdown: every row's accuracy, its gain over random of the same run and images per class,
    its cost in seconds (generator training + synthesis) and what a seed varies."""
    lines = ["| method | per class | accuracy | vs random | cost (s): generator + synthesis "
             "| a seed varies |", "|---|---|---|---|---|---|"]
    for r in rows:
        gain = r.get("gain_over_random")
        gen, syn = r.get("generator_seconds", 0.0), r.get("synthesis_seconds",
                                                           r["selection_seconds"])
        lines.append(f"| {r['method']} | {r['ipc']} | {r['accuracy_mean']:.1f} ± "
                     f"{r['accuracy_std']:.1f} | {'—' if gain is None else f'{gain:+.1f}'} | "
                     f"{gen:.0f} + {syn:.0f} | {r.get('seed_varies', '—')} |")
    return "\n".join(lines)


def route_summary(rows) -> list:
    """One sentence per images-per-class of a paper table's rows: the best route that optimizes a
    generator's output (`gan_latent_dm`, `diffusion_prototypes`, `dm_from_generated`) against
    random and DM of the same run, its cost, and where plain samples (`gan`, `diffusion`) stand.
    A difference within the two rows' seed spreads combined, sqrt(s_a^2 + s_b^2), reads as
    level. Images per class without random or any route are left out."""
    by = {(r["method"], r["ipc"]): r for r in rows}
    routes = [m for m in GENERATIVE_METHODS if m not in ("gan", "diffusion")]
    out = []
    for k in sorted({r["ipc"] for r in rows}):
        found = [by[m, k] for m in routes if (m, k) in by]
        if ("random", k) not in by or not found:
            continue
        rnd, best = by["random", k], max(found, key=lambda r: r["accuracy_mean"])

        def versus(a, b):
            tol = (a["accuracy_std"] ** 2 + b["accuracy_std"] ** 2) ** 0.5
            gap = a["accuracy_mean"] - b["accuracy_mean"]
            word = "above" if gap > tol else "below" if gap < -tol else "level with"
            return f"{word} {b['method']} ({_points(gap)})"

        text = (f"**{k} per class**: the best route, {best['method']}, scores "
                f"{best['accuracy_mean']:.1f} ± {best['accuracy_std']:.1f}%, {versus(best, rnd)}")
        if ("dm", k) in by:
            text += f" and {versus(best, by['dm', k])}"
        text += (f"; it costs {best.get('generator_seconds', 0.0) / 60:.0f} min of generator "
                 f"training and {best['synthesis_seconds'] / 60:.1f} min of synthesis.")
        plain = [by[m, k] for m in ("gan", "diffusion") if (m, k) in by]
        if plain:
            text += " Plain samples: " + ", ".join(
                f"{r['method']} {r['accuracy_mean']:.1f}% "
                f"({_points(r['accuracy_mean'] - rnd['accuracy_mean'])} against random)"
                for r in plain) + "."
        out.append(text)
    return out


def _points(x: float) -> str:
    text = f"{x:+.1f}"
    return f"{'0.0' if float(text) == 0 else text} points"
