"""Clustering as distillation: K-means medoids and centroids (Lloyd 1982; mini-batch: Sculley 2010)
and density representatives from DBSCAN (Ester et al. 1996) or HDBSCAN (Campello et al. 2013).

A re-export, so that notebooks and older code keep importing from one place: the K-means medoids
(`kmeans`) and the DBSCAN/HDBSCAN representatives with their eps search (`density`).
"""
from __future__ import annotations

from distill_lab.selectors.density import (METHODS, DensityResult, SingleClusterWarning,
                                           check_density_params, dbscan_select, k_distance,
                                           knee_eps)
from distill_lab.selectors.kmeans import (MINIBATCH_THRESHOLD, FewDistinctRowsWarning,
                                          KMeansResult, cluster_medoids, kmeans_medoids)

__all__ = ["SingleClusterWarning", "FewDistinctRowsWarning", "KMeansResult", "kmeans_medoids",
           "cluster_medoids",
           "k_distance", "knee_eps", "DensityResult", "dbscan_select", "check_density_params",
           "MINIBATCH_THRESHOLD", "METHODS"]
