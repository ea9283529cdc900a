"""Parse-time checks of configured downloads: ``[{url, sha256}, ...]`` lists (such as
``base_model.openspliceai_urls``) and the file name each download is saved under. No I/O here:
the download itself is ``validsplice.io.download``."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from ..common.errors import UserError

SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


def url_file_name(url: str) -> str:
    """The file name a URL's path ends in (what the download is saved as)."""
    return Path(urlparse(str(url)).path).name


def check_url_entries(entries, key: str) -> list[tuple[str, str]]:
    """``[{url, sha256}, ...]`` from the config as (url, sha256) pairs; UserError naming the key
    and the entry when one lacks either, a checksum is not 64 hex digits, or two URLs end in
    the same file name (they would overwrite each other)."""
    if not isinstance(entries, list):
        raise UserError(f"config {key}: expected a list of {{url: ..., sha256: ...}} entries, got {entries!r}.")
    pairs, names = [], {}
    for i, entry in enumerate(entries):
        where = f"config {key}[{i}]"
        if not isinstance(entry, dict) or not str(entry.get("url") or "").strip():
            raise UserError(f"{where}: each entry needs a url and a sha256, got {entry!r}.")
        url, digest = str(entry["url"]).strip(), str(entry.get("sha256") or "").strip().lower()
        if not SHA256_PATTERN.fullmatch(digest):
            raise UserError(f"{where}: sha256 {entry.get('sha256')!r} is not 64 hexadecimal digits. Give the "
                            "SHA-256 of the file (sha256sum FILE); downloads are never used unchecked.")
        name = url_file_name(url)
        if not name.endswith(".pt"):
            raise UserError(f"{where}: {url} does not end in a .pt file name; the checkpoint is saved under "
                            "the URL's file name, which must end in .pt.")
        if name in names:
            raise UserError(f"{where}: {url} ends in the same file name as entry {names[name]} ({name}).")
        names[name] = i
        pairs.append((url, digest))
    return pairs
