"""Offline formulas: a report ships its own MathJax 2 (the copy in the `jupyter-server-mathjax`
package), so the notebooks' LaTeX renders without a network; nbconvert's default points at a CDN.

Only what the TeX input and the HTML-CSS output need is copied (about 2.5 MB of the package's 12):
no SVG output, no accessibility extensions, English only.
"""
from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["MATHJAX_DIR", "MATHJAX_URL", "copy_mathjax"]

MATHJAX_DIR = "_static/mathjax"  # relative to the report folder, where every .html sits
_CONFIG = "local/distill_lab"
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,{_CONFIG}"

# The package ships STIX-Web fonts only, so HTML-CSS must be told to use them (as Jupyter does).
_LOCAL_CONFIG = """MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null,
                                    webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/%s.js");
""" % _CONFIG
_NEEDED = ["MathJax.js", "LICENSE", "config/TeX-AMS-MML_HTMLorMML-full.js", "config/Safe.js",
           "jax/element", "jax/input/TeX", "jax/output/HTML-CSS", "extensions/TeX",
           "extensions/MathML", "extensions/HTML-CSS", "extensions/*.js", "fonts/HTML-CSS",
           "localization/en"]


def _source() -> Path:
    import jupyter_server_mathjax  # a dependency; imported here to keep import time short

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(out_dir) -> Path:
    """Copy MathJax into out_dir/_static/mathjax/ unless it is there; return MathJax.js's path."""
    target = Path(out_dir) / MATHJAX_DIR
    script = target / "MathJax.js"
    if script.is_file():
        return script
    source, staging = _source(), target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for pattern in _NEEDED:
        for path in sorted(source.glob(pattern)):
            destination = staging / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                shutil.copytree(path, destination)
            else:
                shutil.copy2(path, destination)
    (staging / "config" / f"{_CONFIG}.js").parent.mkdir(parents=True, exist_ok=True)
    (staging / "config" / f"{_CONFIG}.js").write_text(_LOCAL_CONFIG, encoding="utf-8")
    staging.rename(target)  # whole or absent: an interrupted copy is redone next time
    return script
