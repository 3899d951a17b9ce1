"""The volunteer service certificate PDF, read back the way a verifier would: with pypdf."""

from __future__ import annotations

import io
import os
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from bot.documents import fonts
from bot.documents.certificate import (
    CertificateData,
    FontNotAvailableError,
    ServiceLine,
    format_hours,
    render_certificate,
)

LINES = (
    ServiceLine(date(2024, 3, 2), "社区老年人助餐配送", "华润社区长者食堂", "华润社区居委会", 120),
    ServiceLine(
        date(2024, 4, 13), "垃圾分类宣传与入户指导", "华润二十四城小区", "绿色家园志愿服务队", 150
    ),
    ServiceLine(date(2024, 5, 18), "独居老人探访陪伴", "谢家湾街道", "华润社区社会工作服务站", 120),
)

DATA = CertificateData(
    certificate_number="CQK-C-2024-000123",
    volunteer_name="李明",
    volunteer_number="CQK-V-000012",
    masked_id="5001**********1234",
    period_start=date(2024, 3, 1),
    period_end=date(2024, 5, 31),
    total_minutes=390,
    lines=LINES,
    issuer="谢家湾街道华润社区志愿服务站",
    person_in_charge="王芳",
    issued_on=date(2024, 6, 1),
    verification_code="7KQ2-M9XD",
    verification_url="https://wushe.example.cn/verify/CQK-C-2024-000123?code=7KQ2-M9XD",
)


@pytest.fixture(autouse=True)
def cjk_font() -> None:
    """The embedded font comes with the project's dependencies: a missing one fails."""
    fonts.cjk_font()


def _reader(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def _text(reader: PdfReader, page: int = 0) -> str:
    return reader.pages[page].extract_text()


def test_the_certificate_reads_back_in_chinese() -> None:
    reader = _reader(render_certificate(DATA))
    assert len(reader.pages) == 1
    text = _text(reader)
    for expected in (
        "志愿服务证明",
        "李明",
        "CQK-V-000012",
        "5001**********1234",
        "CQK-C-2024-000123",
        "6.5 小时",
        "谢家湾街道华润社区志愿服务站",
        "负责人",
        "王芳",
        "2024年6月1日",
        "7KQ2-M9XD",
        "垃圾分类宣传与入户指导",
        "2024-04-13",
        "2.5",  # 150 minutes on the second line
    ):
        assert expected in text, expected
    assert "https://wushe.example.cn/verify/" in text


def test_every_font_is_embedded_with_a_unicode_map() -> None:
    # A non-embedded font (STSong-Light, Helvetica) depends on the viewer: boxes elsewhere.
    reader = _reader(render_certificate(DATA))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        if font["/Subtype"] == "/Type0":
            font = font["/DescendantFonts"][0].get_object()
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, font["/BaseFont"]
        assert "/ToUnicode" in ref.get_object(), font["/BaseFont"]


def test_the_qr_code_encodes_the_verification_url() -> None:
    import zxingcpp  # dev dependency "zxing-cpp": an independent decoder, not segno itself

    page = _reader(render_certificate(DATA)).pages[0]
    images = list(page.images)
    assert len(images) == 1
    decoded = zxingcpp.read_barcodes(images[0].image)
    assert [(d.format, d.text) for d in decoded] == [
        (zxingcpp.BarcodeFormat.QRCode, DATA.verification_url)
    ]


def test_a_long_history_gets_a_summary_and_an_annex_over_several_pages() -> None:
    start = date(2023, 1, 1)
    lines = tuple(
        ServiceLine(
            start + timedelta(days=3 * i),
            f"第{i + 1}次 社区综合志愿服务（助老、助残、环境整治）",
            "华润社区",
            "华润社区居委会",
            30 + (i % 5) * 15,
        )
        for i in range(200)
    )
    data = replace(
        DATA,
        lines=lines[::-1],  # the caller's order does not matter: printed by date
        period_start=start,
        period_end=lines[-1].date,
        total_minutes=sum(line.minutes for line in lines),
    )
    pdf = render_certificate(data)
    assert len(pdf) < 250_000
    reader = _reader(pdf)
    assert len(reader.pages) >= 4
    first = _text(reader, 0)
    # Page 1: the certified statement, a monthly summary and the signatures; no detail.
    assert "按月份汇总" in first
    assert "2023年1月" in first
    assert "合计：200 次，200 小时" in first
    assert "出具单位" in first
    assert "2023-01-01" not in first
    annex = [_text(reader, n) for n in range(1, len(reader.pages))]
    assert "附表：志愿服务明细（共 200 条）" in annex[0]
    # The column headers repeat on every annex page, and the footer counts the pages.
    assert all("服务内容" in page for page in annex)
    assert f"共 {len(reader.pages)} 页" in annex[-1]
    # Every single line made it into the annex, in date order.
    dates = re.findall(r"\d{4}-\d{2}-\d{2}", "".join(annex))
    assert dates == [line.date.isoformat() for line in lines]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, "0 小时"),
        (1, "0.02 小时"),
        (59, "0.98 小时"),
        (60, "1 小时"),
        (90, "1.5 小时"),
        (100, "1.67 小时"),  # half-up, not truncated
        (125, "2.08 小时"),
        (6000, "100 小时"),  # not "1E+2"
    ],
)
def test_format_hours_is_exact(minutes: int, expected: str) -> None:
    assert format_hours(minutes) == expected


def test_format_hours_refuses_negative_and_inexact_minutes() -> None:
    with pytest.raises(ValueError):
        format_hours(-1)
    with pytest.raises(TypeError):
        format_hours(1.5)  # type: ignore[arg-type]


def test_the_same_data_gives_the_same_bytes() -> None:
    assert render_certificate(DATA) == render_certificate(DATA)


def test_caller_text_is_printed_literally_and_missing_glyphs_are_marked() -> None:
    odd = ServiceLine(date(2024, 3, 9), "<b>助老</b> & 陪伴 🎉", "社区", "居委会", 0)
    text = _text(_reader(render_certificate(replace(DATA, lines=(*LINES, odd)))))
    assert "<b>助老</b> & 陪伴 □" in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"masked_id": "500101199001011234"}, "masked"),
        ({"masked_id": "500101900101123"}, "masked"),
        ({"total_minutes": 391}, "add up"),
        ({"period_end": date(2024, 5, 1)}, "outside"),
        ({"period_start": date(2024, 6, 1)}, "after"),
        ({"issuer": "  "}, "issuer"),
    ],
)
def test_inconsistent_data_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(DATA, **changes)  # type: ignore[arg-type]


def test_a_name_the_font_cannot_print_is_refused() -> None:
    with pytest.raises(ValueError, match="volunteer_name"):
        render_certificate(replace(DATA, volunteer_name="李😀"))


def test_a_missing_or_unusable_font_names_the_debian_package(tmp_path: os.PathLike[str]) -> None:
    with pytest.raises(FontNotAvailableError, match="fonts-wqy-zenhei"):
        render_certificate(DATA, font_path=os.path.join(tmp_path, "missing.ttc"))
    not_a_font = os.path.join(tmp_path, "fake.ttf")
    with open(not_a_font, "wb") as f:
        f.write(b"OTTO" + bytes(200))  # a CFF (PostScript-outline) header, like Noto CJK
    with pytest.raises(FontNotAvailableError, match="TrueType"):
        render_certificate(DATA, font_path=not_a_font)
