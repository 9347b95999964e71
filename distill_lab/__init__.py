"""distill_lab: data distillation, taught and measured."""
__version__ = "0.1.0"
