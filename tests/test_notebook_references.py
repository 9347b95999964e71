"""Every paper a notebook cites (author-year) is listed in 00's References cell."""
import re
from pathlib import Path

import nbformat

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# "Paul et al. 2021", "Sener & Savarese 2018", "Welling 2009", "Zhang et al., AAAI 2024",
# "Goodfellow et al. (2014)": a capitalized surname, an optional second author or "et al.",
# then a year (a venue may stand between)
CITATION = re.compile(r"\b([A-Z][a-zà-ÿ]+)(?:, [A-Z][a-zà-ÿ]+)*(?: et al\.| & [A-Z][a-zà-ÿ]+| and [A-Z][a-zà-ÿ]+)?,? "
                      r"\(?(?:[A-Z]{3,7},? )?((?:19|20)\d\d)\b")
NOT_AUTHORS = {"In", "See", "From", "Table", "Figure", "Since", "The", "Until", "After", "Before",
               "Version", "As", "Of", "At", "On", "By", "Python", "December", "November"}


def _references():
    overview = nbformat.read(NOTEBOOKS[0], as_version=4)
    cells = [c.source for c in overview.cells if c.cell_type == "markdown"
             and c.source.startswith("## References")]
    assert len(cells) == 1, "00 must hold one '## References' markdown cell"
    return cells[0]


def _citations(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and not cell.source.startswith("## References"):
            for author, year in CITATION.findall(cell.source):
                if author not in NOT_AUTHORS:
                    yield author, year


def test_every_cited_paper_is_in_the_references():
    refs = _references()
    listed = set(re.findall(r"^\* ([A-Z][a-zà-ÿ]+)\b.*?\b((?:19|20)\d\d)\.", refs, re.M))
    missing = sorted({(a, y, p.name) for p in NOTEBOOKS for a, y in _citations(p)
                      if (a, y) not in listed})
    assert not missing, f"cited but not in 00's References: {missing}"


def test_each_reference_has_a_doi_an_arxiv_id_or_says_it_has_none():
    for line in _references().splitlines():
        if line.startswith("* "):
            assert re.search(r"doi:10\.\d{4,}/|arXiv:\d{4}\.\d{4,5}|no DOI|no arXiv|\(book\)|Wiley", line), line
