"""The docs cannot drift: their result tables are what docs/tables.py writes from the report
files under docs/results/, and every relative link of the README and the docs pages leads to
a file that exists (and an anchor to a heading of it)."""

from __future__ import annotations

import re
import subprocess
import sys

from workflow_helpers import REPO

PAGES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md")) + \
    [REPO / "benchmarks" / "README.md"]


def test_result_tables_are_written_from_the_report_files():
    sys.path.insert(0, str(REPO / "docs"))
    import tables

    assert tables.pages(), "no docs page holds a <!-- table NAME --> block"
    proc = subprocess.run([sys.executable, str(REPO / "docs" / "tables.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, "run python docs/tables.py:\n" + proc.stdout[-3000:] + \
        proc.stderr[-2000:]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no such file)")
                continue
            if anchor and file.suffix == ".md":
                headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), re.M)}
                if anchor not in headings:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
