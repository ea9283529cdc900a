"""Downloads checked against a SHA-256 the config gives: model weights fetched by URL
(``base_model.openspliceai_urls``, rule ``download_openspliceai``).

A file is written under a temporary name and renamed only after its checksum matched, so a
half-finished or tampered download never looks like a valid checkpoint. The workflow only calls
this when the config lists URLs explicitly; tests pass ``file://`` URLs or their own opener.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..common.errors import UserError
from ..config.download_entries import check_url_entries, url_file_name

log = logging.getLogger(__name__)

def download_verified(url: str, dest: str | Path, sha256: str,
                      opener: Callable = urllib.request.urlopen) -> Path:
    """Download ``url`` to ``dest`` if its SHA-256 is ``sha256``; else UserError (nothing written)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".download")
    digest, size = hashlib.sha256(), 0
    log.info("downloading %s -> %s", url, dest)
    try:
        with opener(url) as response, open(partial, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
                size += len(block)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"Could not download {url}: {exc}. Download it yourself into {dest.parent} and "
                        "leave base_model.openspliceai_urls empty.") from None
    got = digest.hexdigest()
    if got != sha256.lower():
        partial.unlink(missing_ok=True)
        raise UserError(f"{url}: SHA-256 {got} ({size:,} bytes) differs from the configured {sha256}; the file "
                        "was not saved. Check the URL (a changed or truncated file) or the sha256 in the config.")
    shutil.move(str(partial), str(dest))
    log.info("%s: %s bytes, SHA-256 %s (matches)", dest.name, f"{size:,}", got)
    return dest


def download_checkpoints(entries, folder: str | Path, key: str = "base_model.openspliceai_urls",
                         opener: Callable = urllib.request.urlopen) -> list[Path]:
    """Every configured (url, sha256) into ``folder`` under the URL's file name, each checked."""
    pairs = check_url_entries(entries, key)
    return [download_verified(url, Path(folder) / url_file_name(url), digest, opener) for url, digest in pairs]
