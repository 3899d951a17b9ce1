"""Charts of the indicators (matplotlib, PNG): each indicator against its target, and the work
of the last months. Labels come in already translated; Chinese renders with the CJK font the
certificate uses (bot/documents/fonts.py); counts get whole-number ticks."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator

from bot.documents.fonts import cjk_font

# The CJK font has one weight; matplotlib says so for every bold title otherwise.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
_LOCK = threading.Lock()  # pyplot keeps global state: one chart at a time
_FONT_READY: list[str] = []


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    share_of_target: float  # 1.0 = exactly on target
    caption: str  # "14.0% / 22.0%"
    met: bool


def _font() -> None:
    if _FONT_READY:
        return
    path = cjk_font().path  # raises FontNotAvailableError naming what to install
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    plt.rcParams["font.family"] = [name, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    _FONT_READY.append(name)


def _png(figure: object) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(figure)  # type: ignore[arg-type]
    return out.getvalue()


def targets_chart(title: str, bars: Sequence[Bar], target_label: str) -> bytes:
    """Horizontal bars: how much of its target each indicator reaches (capped at 150%)."""
    with _LOCK:
        _font()
        figure, axes = plt.subplots(figsize=(7.5, 0.55 * len(bars) + 1.4))
        labels = [b.label for b in bars][::-1]
        values = [min(1.5, b.share_of_target) * 100 for b in bars][::-1]
        colours = ["#2e7d32" if b.met else "#c62828" for b in bars][::-1]
        axes.barh(labels, values, color=colours)
        axes.axvline(100, color="#333333", linestyle="--", linewidth=1, label=target_label)
        axes.legend(loc="lower right", fontsize=8)
        for y, bar in enumerate(reversed(bars)):
            axes.text(
                min(150, bar.share_of_target * 100) + 2, y, bar.caption, va="center", fontsize=8
            )
        axes.set_xlim(0, 185)
        axes.set_xlabel("%")
        axes.set_title(title)
        return _png(figure)


def trend_chart(
    title: str,
    months: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    line: tuple[str, Sequence[float]] | None = None,
) -> bytes:
    """Grouped bars per month (e.g. needs received and resolved), and one line on a second
    axis (e.g. volunteer hours)."""
    with _LOCK:
        _font()
        figure, axes = plt.subplots(figsize=(8, 3.6))
        width = 0.8 / max(1, len(series))
        positions = range(len(months))
        for n, (label, values) in enumerate(series):
            axes.bar([p + n * width for p in positions], values, width=width, label=label)
        axes.set_xticks([p + width * (len(series) - 1) / 2 for p in positions])
        axes.set_xticklabels([m[2:] for m in months], rotation=45, fontsize=8)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no "2.5 requests"
        axes.set_ylim(bottom=0)
        handles, labels = axes.get_legend_handles_labels()
        if line is not None:
            other = axes.twinx()
            (drawn,) = other.plot(
                [p + width * (len(series) - 1) / 2 for p in positions],
                line[1],
                color="#6a1b9a",
                marker="o",
                label=line[0],
            )
            other.set_ylim(bottom=0)
            handles.append(drawn)
            labels.append(line[0])
        axes.legend(handles, labels, fontsize=8, loc="upper left")
        axes.set_title(title)
        return _png(figure)
