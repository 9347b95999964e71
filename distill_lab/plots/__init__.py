"""Every plot of distill_lab: image grids (`mosaic` tiles them) in `images`, score histograms and
reliability diagrams (calibration, Guo et al. 2017) in `scores`, picks and clusters on a 2-D
embedding and the DBSCAN k-distance curve in `embeddings`, and active-learning curves, accuracy vs
budget and the accuracy-cost Pareto front from evaluation rows in `curves`.

A re-export, so that notebooks import every plot from `distill_lab.plots`. Every plot takes
`ax=None` (then draws on a new figure, `style.get_axes`), returns the axes and never calls
`plt.show()`.
"""
from __future__ import annotations

from distill_lab.plots.curves import (accuracy_vs_budget, gains_over_random_bars,
                                      plot_learning_curves, plot_pareto)
from distill_lab.plots.embeddings import picks_on_embedding, plot_clusters, plot_k_distance
from distill_lab.plots.images import dsa_gallery, feature_rows, image_grid, mosaic
from distill_lab.plots.scores import confidence_bins, reliability_diagram, score_histogram

__all__ = ["mosaic", "image_grid", "feature_rows", "dsa_gallery", "score_histogram",
           "confidence_bins", "reliability_diagram", "picks_on_embedding", "plot_clusters",
           "plot_k_distance", "plot_learning_curves", "accuracy_vs_budget", "plot_pareto",
           "gains_over_random_bars"]
