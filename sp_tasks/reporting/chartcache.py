"""Redraw a chart only when what it shows changed: a digest of its inputs, kept inside the PNG.

Drawing is the slow part of ``invoke charts`` (about a second per processor figure), and most
runs change one processor or none. :func:`digest` hashes everything a figure is drawn from — the
rows it plots, its verdicts and change points, the rule's parameters, the chart code itself and
the matplotlib version — and :func:`save_with_digest` stores it in the PNG as a ``tEXt`` chunk
(``sp-tasks-inputs``). :func:`stored_digest` reads it back without decoding the image, so a
chart whose stored digest equals the new one is left as it is, also in a fresh CI checkout of
committed charts. Same inputs, same bytes: the digest is deterministic and the PNG too.
"""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any, Iterable

KEY = "sp-tasks-inputs"
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def digest(*parts: Any) -> str:
    """sha256 over the parts: frames as CSV, other values as canonical JSON (``default=str``)."""
    h = hashlib.sha256()
    for part in (*parts, _code_version()):
        if hasattr(part, "to_csv"):
            h.update(part.to_csv(index=False).encode("utf-8"))
        else:
            h.update(json.dumps(part, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def _code_version() -> str:
    import matplotlib

    from sp_tasks.reporting import charts

    return hashlib.sha256(Path(charts.__file__).read_bytes()).hexdigest() + matplotlib.__version__


def stored_digest(path: str | Path) -> str | None:
    """The digest a PNG was saved with, or None (no file, another writer, not a PNG)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != _SIGNATURE:
                return None
            for kind, data in _chunks(fh):
                if kind == b"tEXt":
                    name, _, value = data.partition(b"\x00")
                    if name == KEY.encode():
                        return value.decode("latin-1")
                if kind in (b"IDAT", b"IEND"):
                    return None
    except OSError:
        return None
    return None


def _chunks(fh) -> Iterable[tuple[bytes, bytes]]:
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        data = fh.read(length)
        fh.read(4)  # CRC: the file is ours; a damaged one just gets redrawn when its digest differs
        yield kind, data


def save_with_digest(fig: Any, path: str | Path, inputs: str) -> Path:
    """Save ``fig`` as PNG with ``inputs`` in its metadata (see :func:`charts.save_figure`)."""
    from sp_tasks.reporting.charts import save_figure

    return save_figure(fig, path, metadata={KEY: inputs})


def up_to_date(path: str | Path, inputs: str) -> bool:
    return stored_digest(path) == inputs
