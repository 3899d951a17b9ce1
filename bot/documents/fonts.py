"""The CJK font that certificates (reportlab) and charts (matplotlib) draw Chinese with.

A fresh machine needs nothing but the project's own dependencies: the PyPI package
``paperang-p2-fonts-cjk`` ships WenQuanYi Micro Hei (文泉驿微米黑, a TrueType-outline ``.ttc``;
the font is dual-licensed Apache-2.0 / GPLv3 with the font exception) and is searched first.
When it is absent, TrueType CJK fonts of the system are tried (Debian's ``fonts-wqy-zenhei``,
``fonts-wqy-microhei``, ``fonts-arphic-uming``/``ukai``). CFF/OpenType fonts such as Noto CJK
are not candidates: reportlab cannot embed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PACKAGED_FONT_DISTRIBUTION = "paperang-p2-fonts-cjk"
_PACKAGED_MODULE = "paperang_p2_fonts_cjk"
_PACKAGED_FILE = "fonts/wqy-microhei.ttc"
SYSTEM_FONT_PACKAGE = "fonts-wqy-zenhei"


@dataclass(frozen=True, slots=True)
class FontFile:
    path: Path
    subfont_index: int = 0  # in a .ttc collection: the first face is the regular one


def packaged_font() -> FontFile | None:
    """WenQuanYi Micro Hei from the PyPI package, when it is installed."""
    try:
        path = Path(str(resources.files(_PACKAGED_MODULE).joinpath(_PACKAGED_FILE)))
    except ModuleNotFoundError:
        return None
    return FontFile(path) if path.is_file() else None


# Tried in order after the packaged font. Module-level so that a deployment (or a test) may
# change the search.
SYSTEM_FONTS: tuple[FontFile, ...] = (
    FontFile(Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")),
    FontFile(Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")),
    FontFile(Path("/usr/share/fonts/truetype/arphic/uming.ttc")),
    FontFile(Path("/usr/share/fonts/truetype/arphic/ukai.ttc")),
)


class FontNotAvailableError(RuntimeError):
    """The CJK font file is missing or reportlab cannot embed it."""


def candidates() -> tuple[FontFile, ...]:
    packaged = packaged_font()
    return ((packaged,) if packaged else ()) + SYSTEM_FONTS


def cjk_font() -> FontFile:
    """The first CJK font that is there; FontNotAvailableError says how to get one."""
    for font in candidates():
        if font.path.is_file():
            return font
    raise FontNotAvailableError(
        f"No CJK font found. Install the project's dependencies (pip install -e ., which brings "
        f"{PACKAGED_FONT_DISTRIBUTION}) or the Debian package {SYSTEM_FONT_PACKAGE}."
    )
