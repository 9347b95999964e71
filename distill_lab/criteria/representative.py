"""Representative subsets: pick samples whose set looks like the whole data set in feature space.

A re-export, so that notebooks and older code keep importing from one place: greedy k-center
(`kcenter`), herding (`herding`), facility location (`facility_dense`, its optimizers in
`lazy_greedy` and `stochastic_greedy`) and the kernels they share (`kernels`).
"""
from __future__ import annotations

from distill_lab._validation import check_subset
from distill_lab.criteria.facility_dense import check_optimizer, facility_location
from distill_lab.criteria.herding import herding
from distill_lab.criteria.kcenter import kcenter_greedy
from distill_lab.criteria.kernels import (check_similarity, median_gamma, self_similarity,
                                          similarity_matrix, sq_distances)
from distill_lab.criteria.lazy_greedy import lazy_greedy

__all__ = ["kcenter_greedy", "herding", "facility_location", "similarity_matrix",
           "median_gamma", "sq_distances", "check_subset", "check_optimizer", "check_similarity",
           "self_similarity", "lazy_greedy"]
