"""Sentences from numbers: the words a notebook uses to compare two measured values, so that a
claim in its prose is rendered from what the cells above computed and stays true under any
parameters a report passes (docs/assignments.md, "Claims bound to numbers")."""
from __future__ import annotations

__all__ = ["compare", "signed", "show"]


def compare(a: float, b: float, *, tol: float = 0.0, more: str = "above", same: str = "level with",
            less: str = "below") -> str:
    """The word for how `a` stands to `b`: `more` if a > b + tol, `less` if a < b - tol, else `same`.

    `tol` is the difference that does not count (a seed's spread, say); it must be >= 0.
    """
    if not tol >= 0:
        raise ValueError(f"tol={tol!r}: the tolerance must be a number >= 0")
    if a > b + tol:
        return more
    if a < b - tol:
        return less
    return same


def signed(x: float, unit: str = "points", digits: int = 1) -> str:
    """'+1.3 points', '-0.4 points', '0.0 points' (never '-0.0')."""
    text = f"{x:+.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return f"{text} {unit}".rstrip()


def show(markdown: str) -> None:
    """Display `markdown` as a rendered cell output (the report shows it as prose, code hidden)."""
    from IPython.display import Markdown, display

    display(Markdown(markdown))
