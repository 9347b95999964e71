"""Selectors built on criteria: scores from a proxy model (gradient and entropy families, and CCS
sampling across their strata) in `proxy_scores`; greedy subset objectives on features
(representative family, CRAIG) and the moderate coreset in `feature_based`.

A re-export, so that older code keeps importing every model-based selector from one place.
"""
from __future__ import annotations

from distill_lab.selectors.feature_based import (FEATURES, GRAPHS, CraigSelector,
                                                 FacilityLocationSelector, FeatureSelector,
                                                 HerdingSelector, KCenterSelector,
                                                 ModerateSelector)
from distill_lab.selectors.proxy_scores import (PROXY_SCORES, CCSSelector, EL2NSelector,
                                                EntropySelector, GraNdSelector,
                                                LeastConfidenceSelector, MarginSelector,
                                                ProxyMixin, ProxyScoreSelector)

__all__ = ["PROXY_SCORES", "ProxyMixin", "ProxyScoreSelector", "EL2NSelector", "GraNdSelector",
           "EntropySelector", "MarginSelector", "LeastConfidenceSelector", "CCSSelector",
           "FEATURES", "GRAPHS", "FeatureSelector", "ModerateSelector", "KCenterSelector",
           "HerdingSelector", "FacilityLocationSelector", "CraigSelector"]
