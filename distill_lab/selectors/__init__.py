"""Selectors: scikit-learn style estimators that pick a distilled subset (see `base`)."""
from distill_lab.selectors.base import BaseSelector, ScoreSelector
from distill_lab.selectors.registry import SELECTORS, make_selector, make_selector_on

__all__ = ["BaseSelector", "ScoreSelector", "SELECTORS", "make_selector", "make_selector_on"]
