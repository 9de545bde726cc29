"""The Content-Disposition header for downloads named after uploads."""

import unicodedata
from urllib.parse import quote


def _ascii_fallback(name: str) -> str:
    # For clients that ignore filename*: plain ASCII, no quotes or slashes.
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in folded)
    return safe.strip(" .") or "download"


def attachment(name: str) -> str:
    """Name a download safely for every browser, keeping non-ASCII names."""
    encoded = quote(name, safe="")
    return (
        f"attachment; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
    )
