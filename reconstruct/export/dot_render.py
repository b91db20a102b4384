"""Rendering DOT to SVG/PNG/PDF with Graphviz's ``dot`` when it is installed.

Without ``dot`` the DOT file is written instead and the result says so, so a
caller can tell the user how to get images.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import graphviz

from choreo.core.errors import ExportError

FORMATS = ("dot", "svg", "png", "pdf")
IMAGE_FORMATS = ("svg", "png", "pdf")


@dataclass(frozen=True)
class Rendered:
    path: Path  # the file written
    fmt: str  # its format
    wanted: str  # the format asked for; differs from fmt when dot was missing

    @property
    def fell_back(self) -> bool:
        return self.fmt != self.wanted


def dot_available() -> bool:
    return shutil.which("dot") is not None


def default_format() -> str:
    return "svg" if dot_available() else "dot"


def format_for(path: Path | None, fmt: str | None) -> str:
    """The format asked for: explicit, else the output file's suffix, else the default."""
    if fmt is not None:
        return fmt
    if path is not None and path.suffix.lstrip(".").lower() in FORMATS:
        return path.suffix.lstrip(".").lower()
    if path is not None and path.suffix.lower() == ".gv":
        return "dot"
    return default_format()


def to_image(source: str, fmt: str) -> bytes:
    """Render DOT source with ``dot``; ExportError when that fails."""
    try:
        # quiet: dot's own stderr would repeat record text raw; its first line is in the error.
        data: bytes = graphviz.Source(source).pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound:
        raise ExportError("Graphviz 'dot' is not installed; install Graphviz to render images") from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise ExportError(f"dot failed to render {fmt}: {detail[0] if detail else exc}") from None
    return data


def write(source: str, path: Path, fmt: str) -> Rendered:
    """Write ``source`` as ``fmt`` to ``path``. Without ``dot``, an image format
    falls back to DOT written next to it (``path`` with suffix .dot)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    try:
        if fmt == "dot":
            path.write_text(source, encoding="utf-8")
            return Rendered(path, "dot", "dot")
        if not dot_available():
            dot_path = path.with_suffix(".dot")
            dot_path.write_text(source, encoding="utf-8")
            return Rendered(dot_path, "dot", fmt)
        path.write_bytes(to_image(source, fmt))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Rendered(path, fmt, fmt)
