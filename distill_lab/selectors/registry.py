"""The explicit name -> selector registry of docs/design.md §3."""
from __future__ import annotations

from distill_lab._validation import resolve_device
from distill_lab.selectors import feature_based as fb
from distill_lab.selectors import proxy_scores as ps
from distill_lab.selectors.clustering import DBSCANSelector, KMeansSelector
from distill_lab.selectors.simple import RandomSelector

SELECTORS = {
    "random": RandomSelector,
    # gradient-based
    "grand": ps.GraNdSelector,
    "el2n": ps.EL2NSelector,
    "craig": fb.CraigSelector,
    "ccs": ps.CCSSelector,  # coverage-centric: strata of a gradient or uncertainty score
    # entropy-based
    "entropy": ps.EntropySelector,
    "margin": ps.MarginSelector,
    "least_confidence": ps.LeastConfidenceSelector,
    # representative
    "kcenter": fb.KCenterSelector,
    "herding": fb.HerdingSelector,
    "facility_location": fb.FacilityLocationSelector,
    "moderate": fb.ModerateSelector,
    "kmeans": KMeansSelector, "dbscan": DBSCANSelector,  # clustering
}


def make_selector(name: str, **params):
    """Build a registered selector by name; unknown names list the valid ones."""
    if name not in SELECTORS:
        raise ValueError(f"selector name={name!r} is not registered; valid names: "
                         f"{sorted(SELECTORS)}")
    return SELECTORS[name](**params)


def make_selector_on(name: str, device, /, **params):
    """make_selector for a runner that holds one device (a protocol, an active-learning loop):
    `device` goes to every selector that trains a proxy; the others run on numpy (their fitted
    `device_` is 'cpu'). A `device` in `params` must name the same device."""
    selector = make_selector(name, **params)
    if "device" not in selector.get_params():
        return selector
    if "device" in params and resolve_device(params["device"]) != resolve_device(device):
        raise ValueError(f"device={params['device']!r} of selector {name!r} differs from the "
                         f"run's device {str(device)!r}: every phase of a run uses one device; "
                         "leave device out of the selector's parameters")
    return selector.set_params(device=str(resolve_device(device)))
