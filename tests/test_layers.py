"""The package's architecture, read from the import statements (CONTRIBUTING.md, "Layers"): every
module belongs to one layer, imports only from its own layer or the layers below, and never imports
another module's private (leading underscore) names."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "distill_lab"

# Bottom to top. A module's layer is that of the longest entry its name inside distill_lab starts
# with: `evaluation` is the protocol and its rows (generative.quality scores synthetic sets with
# it); `experiments` run every method, the generative ones included, and time the reports.
LAYERS = [
    ("core", {"_validation", "_io", "idx", "data", "user_data", "image_folder", "tables", "models",
              "training", "proxy", "augment", "dask_cluster"}),
    ("criteria", {"criteria"}),
    ("problem", {"problem"}),
    ("selectors", {"selectors"}),
    ("active", {"active"}),
    ("evaluation", {"evaluation"}),
    ("generative", {"generative"}),
    ("reporting", {"reporting"}),
    ("experiments", {"experiments"}),
    ("presentation", {"plots", "widgets", "cli", "prose"}),
]
RANK = {prefix: rank for rank, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def _name(path: Path) -> str:
    """distill_lab/selectors/base.py -> 'selectors.base'; a package's __init__ -> its name."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path):
    """(module inside distill_lab, names imported from it, local name it is bound to, line) for
    every import of the package, lazy imports in functions included; relative imports are resolved
    against the module's package, and `from pkg import submodule` counts as importing the submodule."""
    package = _name(path).split(".")[:-1] if path.name != "__init__.py" else _name(path).split(".")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("distill_lab."):
                    yield alias.name.removeprefix("distill_lab."), [], alias.asname, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("distill_lab"):
                target = node.module.removeprefix("distill_lab").removeprefix(".")
            else:
                continue
            names = []
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                if _is_module(sub):
                    yield sub, [], alias.asname or alias.name, node.lineno
                else:
                    names.append(alias.name)
            if names:
                yield target, names, None, node.lineno


def _layer(module: str) -> int:
    parts = module.split(".")
    prefixes = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]  # longest first
    found = [RANK[p] for p in prefixes if p in RANK]
    assert found, (f"distill_lab.{module} belongs to no layer: add it to LAYERS in "
                   "tests/test_layers.py and to CONTRIBUTING.md")
    return found[0]


@pytest.mark.parametrize("path", MODULES, ids=[_name(p) for p in MODULES])
def test_imports_point_down(path):
    mine = _layer(_name(path))
    for target, _, _, line in _imports(path):
        assert _layer(target) <= mine, (
            f"distill_lab.{_name(path)} (layer {LAYERS[mine][0]}) imports distill_lab.{target} "
            f"(layer {LAYERS[_layer(target)][0]}) at line {line}: dependencies only point down")


@pytest.mark.parametrize("path", MODULES, ids=[_name(p) for p in MODULES])
def test_no_private_names_cross_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = set()  # local names bound to distill_lab modules
    for target, names, local, line in _imports(path):
        private = [n for n in names if n.startswith("_")]
        assert not private, (f"distill_lab.{_name(path)} imports private {private} from {target} "
                             f"at line {line}: make them public or keep them in one module")
        modules.add(local)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            raise AssertionError(f"distill_lab.{_name(path)} reads {node.value.id}.{node.attr} at "
                                 f"line {node.lineno}: a private name of another module")


REPORTING = [p for p in MODULES if _name(p).split(".")[0] == "reporting"]


@pytest.mark.parametrize("path", REPORTING, ids=[_name(p) for p in REPORTING])
def test_reporting_imports_the_core_only(path):
    """reporting/ knows nothing of the science: its own modules and the core, nothing between."""
    for target, _, _, line in _imports(path):
        assert _layer(target) in (RANK["_io"], RANK["reporting"]), (
            f"distill_lab.{_name(path)} imports distill_lab.{target} (layer "
            f"{LAYERS[_layer(target)][0]}) at line {line}: reporting imports the core only")


def test_the_rules_are_checked_on_a_known_case():
    """The parser sees lazy and relative imports (the checks above would pass vacuously otherwise)."""
    quality = {t: n for t, n, _, _ in _imports(PACKAGE / "generative" / "quality.py")}
    assert quality["_validation"] == ["check_array_2d"] and "evaluation" in quality
    cli = [t for t, _, _, _ in _imports(PACKAGE / "cli.py")]
    assert "reporting" in cli and "experiments.bench" in cli  # the lazy one inside main()
    assert REPORTING and any(_name(p) == "reporting.sweep" for p in REPORTING)
