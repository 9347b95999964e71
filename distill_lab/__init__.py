"""distill_lab: data distillation, taught and measured.

`SELECTORS` and `make_selector` are loaded on first use, so that `import distill_lab` stays light
(no torch import) for the submodules that do not need them.
"""
__version__ = "0.1.0"
__all__ = ["SELECTORS", "make_selector", "__version__"]


def __getattr__(name):
    if name in ("SELECTORS", "make_selector"):
        from distill_lab.selectors import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'distill_lab' has no attribute {name!r}")
