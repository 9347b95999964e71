"""The committed notebooks' Markdown renders as written: every table becomes an HTML table, with
nbconvert's own renderer (mistune), the one behind the HTML report."""
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def markdown_tables(source: str) -> list[list[str]]:
    """The pipe tables of a Markdown text: runs of lines starting with `|` whose second line is a
    `|---|` separator."""
    tables, block = [], []
    for line in source.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2 and _SEPARATOR.match(block[1]):
            tables.append(block)
        block = []
    return tables


def test_markdown_tables_finds_pipe_tables_only():
    text = "intro\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| not | a table |\ntext\n"
    assert markdown_tables(text) == [["| a | b |", "|---|---|", "| 1 | 2 |"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_markdown_table_renders_as_a_table(path):
    broken = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "markdown":
            continue
        for table in markdown_tables(cell.source):
            html = markdown2html_mistune("\n".join(table))
            # one <tr> per row but the separator: a `|` inside $...$ would split or drop a row
            if html.count("<table") != 1 or html.count("<tr") != len(table) - 1:
                broken.append(f"cell {index}: {table[0][:60]}")
            n_columns = table[1].strip().strip("|").count("|") + 1
            for row in table[2:]:
                if "$" in row and row.strip().strip("|").count("|") + 1 != n_columns:
                    broken.append(f"cell {index}, `|` in a formula: {row[:80]}")
    hint = "write |x| as \\lvert x \\rvert and a | b as a \\mid b:\n"
    assert not broken, hint + "\n".join(broken)
