"""Headless Chromium for the report tests: a page's DOM once its scripts (MathJax) have run, with
no network, and the text a reader sees in it. Tests using it skip where /usr/bin/chromium is absent."""
import re
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def rendered_text(page: Path) -> tuple[str, str]:
    """(the DOM after 20 s of virtual time, its text with scripts, styles and tags removed)."""
    dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--disable-component-update",
                          "--no-first-run", "--allow-file-access-from-files",
                          "--virtual-time-budget=20000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=180, check=True).stdout
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", dom, flags=re.DOTALL)
    return dom, text
