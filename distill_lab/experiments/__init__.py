"""Experiments: every benchmark of the project as library code, run by `distill-lab bench NAME`
(`bench.py`), with one option convention (`options.py`: `--seeds 0 1 2`, `--device`, `--threads`,
`--out` relative to the current directory, `--smoke`).

- `headline`: every selector at 10% and 1% against random and full data (digits, MNIST-60k).
- `paper`: MNIST at 1 / 10 / 50 images per class under protocol `paper`, beside the DM paper.
- `generative`: GAN, diffusion, generate-then-select and DM against random real images.
- `selection_time`, `sequence_time`, `sweep_speedup`: timings (selectors; the quick notebook
  sequence; a notebook sweep on Dask).

The accuracy experiments write result rows (docs/design.md §3: `budget` a fraction of the training
set, `n_selected` a count, plus `ipc` where sets are counted per class), checked by
`evaluation.validate_rows` before they are written. Nothing is imported here: each module pulls in
what it measures (torch, the generators, Dask) only when used.
"""
