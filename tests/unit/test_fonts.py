"""Certificates and charts find a CJK font on a machine with no system CJK font: the one the
project's own dependencies bring (WenQuanYi Micro Hei from PyPI), else a system one."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from matplotlib import pyplot as plt
from pypdf import PdfReader

from bot.documents import charts, fonts
from bot.documents.certificate import render_certificate
from bot.documents.fonts import FontFile, FontNotAvailableError
from tests.unit.test_certificate_pdf import DATA


@pytest.fixture
def no_system_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The font search sees only the packaged font, never /usr/share/fonts."""
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", ())
    monkeypatch.setattr(charts, "_FONT_READY", [])


def test_the_packaged_font_comes_from_the_python_package_not_the_system(
    no_system_fonts: None,
) -> None:
    found = fonts.cjk_font()
    assert "site-packages" in str(found.path) or ".venv" in str(found.path)
    assert not str(found.path).startswith("/usr/share/fonts")
    assert found.path.name == "wqy-microhei.ttc"


def test_a_certificate_embeds_the_packaged_font_without_system_fonts(
    no_system_fonts: None,
) -> None:
    reader = PdfReader(io.BytesIO(render_certificate(DATA)))
    page = reader.pages[0]
    names = [str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()]
    assert any("WenQuanYiMicroHei" in n for n in names), names
    assert "志愿服务证明" in page.extract_text()


def test_a_chart_draws_chinese_with_the_packaged_font_without_system_fonts(
    no_system_fonts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = charts.trend_chart("华润社区：近十二个月", ["2026-11"], [("收到的求助", [3])])
    assert png.startswith(b"\x89PNG")
    assert plt.rcParams["font.family"][0] == "WenQuanYi Micro Hei"
    assert "wqy-microhei" in charts.font_manager.findfont("WenQuanYi Micro Hei")


def test_without_the_package_a_system_font_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    packaged = fonts.packaged_font()
    assert packaged is not None
    system_copy = tmp_path / "uming.ttc"
    shutil.copy(packaged.path, system_copy)
    monkeypatch.setattr(fonts, "packaged_font", lambda: None)
    monkeypatch.setattr(
        fonts, "SYSTEM_FONTS", (FontFile(tmp_path / "absent.ttc"), FontFile(system_copy))
    )
    assert fonts.cjk_font().path == system_copy


def test_no_font_anywhere_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fonts, "packaged_font", lambda: None)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (FontFile(tmp_path / "absent.ttc"),))
    with pytest.raises(FontNotAvailableError, match=r"paperang-p2-fonts-cjk.*fonts-wqy-zenhei"):
        fonts.cjk_font()


def test_counts_on_a_chart_have_whole_number_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[object] = []
    monkeypatch.setattr(charts, "_png", lambda figure: captured.append(figure) or b"")
    charts.trend_chart(
        "counts",
        ["2026-09", "2026-10", "2026-11"],
        [("received", [0, 1, 2]), ("resolved", [0, 1, 1])],
        ("hours", [0.0, 1.5, 2.5]),
    )
    figure = captured[0]
    counts_axes = figure.axes[0]  # type: ignore[attr-defined]
    ticks = [t for t in counts_axes.get_yticks() if 0 <= t <= 2]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close(figure)  # type: ignore[arg-type]
