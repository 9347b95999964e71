"""What every plot shares: the axes to draw on (the caller's, or a new figure's), an optional
title, and one colour per name. Every plot takes `ax=None`, returns the axes and never calls
`plt.show()`.
"""
from __future__ import annotations

__all__ = ["get_axes", "set_title", "name_colors"]


def get_axes(ax):
    """The axes to draw on: `ax`, or those of a new figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def set_title(ax, title) -> None:
    """Set the title when one is given (a caller's own set_title stays otherwise)."""
    if title is not None:
        ax.set_title(title)


def name_colors(names) -> dict:
    """One colour per name: tab10 (matplotlib's default cycle) up to 10 names, tab20 beyond."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}
