"""Serve front-end assets straight from the PyPI packages that ship them (no CDN, no JS build).

- Bootstrap 5 from ``xstatic-bootstrap`` → ``/static/bootstrap/...``
(plotly.js is no longer served: the charts are plain SVG, decision 0008.)
htmx comes from ``django-htmx``'s own static folder (``django_htmx/htmx-2.min.js``).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import utils
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _xstatic_bootstrap_dir() -> Path | None:
    # Located through the distribution's metadata rather than an import: the xstatic namespace
    # package imports pkg_resources, which new setuptools no longer ships.
    try:
        dist = importlib.metadata.distribution("xstatic-bootstrap")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("xstatic/pkg/bootstrap/data")))
    return path if path.is_dir() else None


class PrefixedStorage(FileSystemStorage):
    def __init__(self, location: Path, prefix: str, only: set[str] | None = None) -> None:
        super().__init__(location=str(location))
        self.prefix = prefix
        self.only = only


class PackagedAssetsFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storages: list[PrefixedStorage] = []
        bootstrap = _xstatic_bootstrap_dir()
        if bootstrap:
            self.storages.append(PrefixedStorage(bootstrap, "bootstrap"))

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        matches: list[str] = []
        for storage in self.storages:
            prefix = storage.prefix + "/"
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix) :]
            if storage.only is not None and rel not in storage.only:
                continue
            full = Path(storage.location) / rel
            if full.is_file():
                if not find_all:
                    return str(full)
                matches.append(str(full))
        return matches

    def list(self, ignore_patterns: Any) -> Any:
        for storage in self.storages:
            for path in utils.get_files(storage, ignore_patterns):
                if storage.only is None or path in storage.only:
                    yield path, storage
