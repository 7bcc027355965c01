"""mkdocs hook: the site's guide is README.md, so the two never drift apart.

``docs/index.md`` is a placeholder; its page is the README, with the links that are relative
to the repository's root made relative to ``docs/`` (where the screenshots live).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Give the guide page the README's text."""
    if page.file.src_uri != "index.md":
        return markdown
    return README.read_text(encoding="utf-8").replace("](docs/", "](")
