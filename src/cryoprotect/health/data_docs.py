"""Make a Great Expectations Data Docs site render offline.

GX's page templates load Bootstrap, jQuery, Font Awesome, bootstrap-table, Vega and their
kin from public CDNs, and the logo from a public bucket: offline, the pages come out unstyled
and their tables inert. :func:`make_offline` copies the same files, shipped with this package
(``data_docs_assets/``, fetched by ``scripts/build-data-docs-assets.sh``), into the site and
points every page at them, so the site works from the file system, from any web server, and
behind a firewall.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from cryoprotect.files import write_text_atomically

ASSETS = Path(__file__).parent / "data_docs_assets"
VENDOR = Path("static") / "vendor"
"""Where the assets go inside a site."""
IMAGES = Path("static") / "images"
"""Where GX puts its own images (its logo among them) inside a site."""

_CDN_FILES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-prefers-dark.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": "bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed.min.js",
}
LOGO_BUCKET = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
LOCAL_FILES = {url: VENDOR / name for url, name in _CDN_FILES.items()}
"""Each file the GX templates load from a CDN, and where the site holds its copy."""

_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_SOURCE = re.compile(r"""\b(src|href)=(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_CHECKS = re.compile(r"""\s(?:integrity|crossorigin)=(["'])[^"']*\1""", re.IGNORECASE)
_STYLE_URL = re.compile(r"""url\((["']?)https?://[^)"']+\1\)""", re.IGNORECASE)

log = logging.getLogger(__name__)


def external_resources(page: str) -> list[str]:
    """Return the addresses ``page`` loads from the network (scripts, styles, images, CSS)."""
    tags = [m.group(3) for tag in _TAG.findall(page) for m in _SOURCE.finditer(tag)]
    return tags + [m.group(0) for m in _STYLE_URL.finditer(page)]


def _file_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[-1]


def _local(url: str, site: Path, page: Path) -> str | None:
    if url in LOCAL_FILES:
        target = site / LOCAL_FILES[url]
    elif url.startswith(LOGO_BUCKET) and (site / IMAGES / _file_name(url)).is_file():
        target = site / IMAGES / _file_name(url)
    else:
        return None
    return Path(os.path.relpath(target, page.parent)).as_posix()


def offline_page(page: str, site: Path, path: Path) -> str:
    """Return ``page`` (the file ``path`` of ``site``) loading its assets from the site.

    A resource of unknown address is dropped (and logged): a page must not wait on the
    network. Subresource-integrity attributes go too: they do not apply to local files.
    """

    def tag(match: re.Match) -> str:
        text = match.group(0)
        found = _SOURCE.search(text)
        if found is None:
            return text
        local = _local(found.group(3), site, path)
        if local is None:
            log.warning("Data Docs: dropped %s from %s (no local copy)", found.group(3), path)
            return f"<!-- offline: {found.group(3)} left out -->"
        text = _SOURCE.sub(f'{found.group(1)}="{local}"', text, count=1)
        return _CHECKS.sub("", text)

    return _STYLE_URL.sub("none", _TAG.sub(tag, page))


def make_offline(site: Path) -> int:
    """Copy the assets into the Data Docs ``site`` and rewrite its pages to use them.

    Returns
    -------
    int
        The number of pages rewritten.
    """
    site = Path(site)
    if not site.is_dir():
        return 0
    shutil.copytree(ASSETS, site / VENDOR, dirs_exist_ok=True)
    rewritten = 0
    for path in [*site.rglob("*.html"), *site.glob("static/styles/*.css")]:
        page = path.read_text(encoding="utf-8")
        offline = offline_page(page, site, path)
        if offline != page:
            write_text_atomically(path, offline)
            rewritten += 1
    return rewritten
