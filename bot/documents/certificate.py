"""Volunteer service certificate (志愿服务证明) as a PDF.

Follows the content the Ministry of Civil Affairs' 2020 rules (志愿服务记录与证明出具办法)
ask of a certificate: the volunteer's identity (name, volunteer number, masked ID number),
the service over a period (total hours and what was done), the issuing organisation and its
person in charge, a certificate number and issue date, plus a verification code and a QR code
of the verification URL. Pure rendering: the caller loads and masks the data.

Font: the PDF embeds a TrueType CJK font (``bot/documents/fonts.py``: WenQuanYi Micro Hei from
the PyPI package the project depends on, else a system TrueType CJK font) so that
the certificate looks the same in every viewer and its text can be extracted. reportlab's
built-in CID font ``STSong-Light`` extracts fine but is *not embedded*: a viewer without a
Chinese font shows boxes (checked with poppler). Noto CJK cannot be used: it has CFF
(PostScript) outlines, which reportlab's ``TTFont`` refuses.

QR code: segno renders the verification URL to an in-memory PNG (8 px a module, with the
4-module quiet zone) which is drawn as an image; the PNG is lossless, so the printed symbol
is exactly segno's.

Rendering is synchronous and CPU-bound (about 50 ms; a 200-line history about 0.5 s):
call it through ``asyncio.to_thread`` from async code (builds are serialised by a lock).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache, partial
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from bot.documents.fonts import (
    PACKAGED_FONT_DISTRIBUTION,
    SYSTEM_FONT_PACKAGE,
    FontNotAvailableError,
    cjk_font,
)

# The font is found at call time (bot/documents/fonts.py); render_certificate(font_path=...)
# overrides it per call.
DEFAULT_FONT_PACKAGE = SYSTEM_FONT_PACKAGE
DEFAULT_SUBFONT_INDEX = 0  # in a .ttc collection; 0 is the regular face

# Above this many service lines page 1 carries a summary and the lines move to an annex.
SUMMARY_THRESHOLD = 40
# More distinct months than this in the summary: group by year instead.
MAX_SUMMARY_MONTHS = 24

RULES_NAME = "《志愿服务记录与证明出具办法（试行）》"
REPLACEMENT_CHAR = "□"  # printed for a character the font lacks, in free-text fields only

_HUNDREDTH = Decimal("0.01")
# reportlab keeps font subsets and settings in module-level state: one build at a time.
_RENDER_LOCK = threading.Lock()


def _check_minutes(what: str, minutes: object) -> None:
    # bool is an int, and a float would smuggle inexact time into Decimal arithmetic.
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise TypeError(f"{what} must be an int of minutes, not {type(minutes).__name__}")
    if minutes < 0:
        raise ValueError(f"{what} must be >= 0")


@dataclass(frozen=True)
class ServiceLine:
    """One recorded service: when, what, where, who organised it, how many minutes."""

    date: date
    content: str
    place: str
    organiser: str
    minutes: int

    def __post_init__(self) -> None:
        _check_minutes(f"minutes of the service on {self.date}", self.minutes)


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate. ``masked_id`` must already be masked."""

    certificate_number: str
    volunteer_name: str
    volunteer_number: str
    masked_id: str
    period_start: date
    period_end: date
    total_minutes: int
    lines: tuple[ServiceLine, ...]
    issuer: str
    person_in_charge: str
    issued_on: date
    verification_code: str
    verification_url: str

    def __post_init__(self) -> None:
        # A list would make the frozen object unhashable and mutable behind our back.
        object.__setattr__(self, "lines", tuple(self.lines))
        for name in _REQUIRED_TEXT:
            if not str(getattr(self, name)).strip():
                raise ValueError(f"{name} must not be empty")
        if "*" not in self.masked_id:
            # Privacy guard: a full ID number must never reach a PDF that gets forwarded.
            raise ValueError("masked_id must be masked, e.g. 5001**********1234")
        if self.period_start > self.period_end:
            raise ValueError("period_start is after period_end")
        _check_minutes("total_minutes", self.total_minutes)
        # The printed total and the printed lines must agree, or the certificate contradicts
        # itself.
        line_sum = sum(line.minutes for line in self.lines)
        if line_sum != self.total_minutes:
            raise ValueError(
                f"total_minutes={self.total_minutes} but the lines add up to {line_sum}"
            )
        outside = [
            ln.date for ln in self.lines if not self.period_start <= ln.date <= self.period_end
        ]
        if outside:
            raise ValueError(f"service dated {outside[0]} is outside the certified period")


_REQUIRED_TEXT = (
    "certificate_number",
    "volunteer_name",
    "volunteer_number",
    "masked_id",
    "issuer",
    "person_in_charge",
    "verification_code",
    "verification_url",
)


# --- numbers and dates ---------------------------------------------------------------------


def _hours_number(minutes: int) -> str:
    """Minutes as hours with at most 2 decimals, exact (Decimal, half-up): 90 -> "1.5"."""
    _check_minutes("minutes", minutes)
    hours = (Decimal(minutes) / Decimal(60)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
    text = f"{hours:f}"
    # Not Decimal.normalize(): it turns 100 into "1E+2".
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_hours(minutes: int) -> str:
    """Minutes as Chinese hours: 90 -> "1.5 小时", 125 -> "2.08 小时", 60 -> "1 小时"."""
    return f"{_hours_number(minutes)} 小时"


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# --- font ----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _load_font(path: str, subfont_index: int) -> tuple[str, frozenset[int]]:
    """Register the TTF once per process (parsing a 16 MB .ttc costs ~0.2 s).

    Returns the reportlab font name and the code points the font has glyphs for.
    """
    if not os.path.isfile(path):
        raise FontNotAvailableError(
            f"CJK font not found: {path}. Install the project's dependencies (they bring "
            f"{PACKAGED_FONT_DISTRIBUTION}), or the Debian package {DEFAULT_FONT_PACKAGE} "
            f"(apt-get install {DEFAULT_FONT_PACKAGE}), or pass font_path= to a TrueType "
            "CJK font."
        )
    digest = hashlib.sha1(f"{path}#{subfont_index}".encode(), usedforsecurity=False)
    name = f"CertCJK-{digest.hexdigest()[:10]}"
    try:
        font = TTFont(name, path, subfontIndex=subfont_index)
    except TTFError as exc:
        raise FontNotAvailableError(
            f"reportlab cannot embed {path}: {exc}. It needs TrueType (glyf) outlines; "
            f"CFF/OpenType fonts such as Noto CJK do not work. Install {DEFAULT_FONT_PACKAGE}."
        ) from exc
    pdfmetrics.registerFont(font)
    return name, frozenset(font.face.charToGlyph)


def _missing(text: str, covered: frozenset[int]) -> list[str]:
    return sorted({ch for ch in text if ord(ch) not in covered and not ch.isspace()})


def _check_glyphs(data: CertificateData, covered: frozenset[int]) -> None:
    # Identity and issuer fields are legal facts: refuse rather than print a box for them.
    for name in _REQUIRED_TEXT:
        missing = _missing(str(getattr(data, name)), covered)
        if missing:
            raise ValueError(f"{name}: the certificate font has no glyph for {missing!r}")


def _printable(text: str, covered: frozenset[int]) -> str:
    # Free text (an emoji in an activity name, say) must not stop the certificate: mark it.
    return "".join(ch if ord(ch) in covered or ch.isspace() else REPLACEMENT_CHAR for ch in text)


# --- layout --------------------------------------------------------------------------------

_PAGE_W, _PAGE_H = A4
_MARGIN_X = 18 * mm
_FRAME_W = _PAGE_W - 2 * _MARGIN_X
_GRID = colors.HexColor("#8a8a8a")
_SHADE = colors.HexColor("#eeeeee")
_INK = colors.HexColor("#222222")
_MUTED = colors.HexColor("#666666")
_QR_SIZE = 30 * mm


class _Styles:
    def __init__(self, font: str) -> None:
        self.font = font

        def style(name: str, **kw: Any) -> ParagraphStyle:
            base: dict[str, Any] = {
                "fontName": font,
                "bulletFontName": font,
                "fontSize": 10.5,
                "leading": 15,
                "textColor": _INK,
                "wordWrap": "CJK",  # Chinese has no spaces: break between any characters
            }
            base.update(kw)
            return ParagraphStyle(name, **base)

        self.title = style("title", fontSize=24, leading=30, alignment=TA_CENTER)
        self.subtitle = style(
            "subtitle", fontSize=10, leading=13, alignment=TA_CENTER, textColor=_MUTED
        )
        self.number = style("number", fontSize=9.5, leading=12, alignment=TA_RIGHT)
        self.heading = style("heading", fontSize=12, leading=17, spaceBefore=8, spaceAfter=4)
        self.body = style("body", fontSize=11, leading=19, firstLineIndent=22)
        self.cell = style("cell", fontSize=9, leading=12)
        self.cell_center = style("cell_center", fontSize=9, leading=12, alignment=TA_CENTER)
        self.cell_right = style("cell_right", fontSize=9, leading=12, alignment=TA_RIGHT)
        self.label = style("label", fontSize=10, leading=13, textColor=_MUTED)
        self.sign = style("sign", fontSize=11, leading=22)
        self.small = style("small", fontSize=8.5, leading=12, textColor=_MUTED)
        self.note = style("note", fontSize=8.5, leading=12.5, textColor=_MUTED)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraph parses mini-HTML: escape every piece of caller data.
    return Paragraph(escape(text), style)


def _grid_style(st: _Styles, header_rows: int = 1) -> list[tuple[Any, ...]]:
    style: list[tuple[Any, ...]] = [
        # Empty cells are drawn with the table font too: the default would add Helvetica.
        ("FONTNAME", (0, 0), (-1, -1), st.font),
        ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header_rows:
        style.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), _SHADE))
    return style


def _identity_table(data: CertificateData, st: _Styles) -> Table:
    rows = [
        [
            _p("姓名", st.label),
            _p(data.volunteer_name, st.cell),
            _p("志愿者编号", st.label),
            _p(data.volunteer_number, st.cell),
        ],
        [_p("身份证件号码", st.label), _p(data.masked_id, st.cell), "", ""],
        [
            _p("服务期间", st.label),
            _p(f"{_cn_date(data.period_start)} 至 {_cn_date(data.period_end)}", st.cell),
            _p("累计服务时长", st.label),
            _p(format_hours(data.total_minutes), st.cell),
        ],
    ]
    widths = [30 * mm, 64 * mm, 30 * mm, _FRAME_W - 124 * mm]
    table = Table(rows, colWidths=widths)
    style = _grid_style(st, header_rows=0)
    style += [
        ("SPAN", (1, 1), (3, 1)),
        ("BACKGROUND", (0, 0), (0, -1), _SHADE),
        ("BACKGROUND", (2, 0), (2, 0), _SHADE),
        ("BACKGROUND", (2, 2), (2, 2), _SHADE),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]
    table.setStyle(TableStyle(style))
    return table


def _detail_table(data: CertificateData, st: _Styles, covered: frozenset[int]) -> Table:
    header = [
        _p("序号", st.cell_center),
        _p("服务日期", st.cell_center),
        _p("服务内容", st.cell_center),
        _p("服务地点", st.cell_center),
        _p("组织单位", st.cell_center),
        _p("时长（小时）", st.cell_center),
    ]
    rows: list[list[Any]] = [header]
    for index, line in enumerate(_sorted_lines(data.lines), start=1):
        rows.append(
            [
                _p(str(index), st.cell_center),
                _p(line.date.isoformat(), st.cell_center),
                _p(_printable(line.content, covered), st.cell),
                _p(_printable(line.place, covered), st.cell),
                _p(_printable(line.organiser, covered), st.cell),
                _p(_hours_number(line.minutes), st.cell_right),
            ]
        )
    rows.append(
        [
            "",
            _p("合计", st.cell_center),
            "",
            "",
            "",
            _p(_hours_number(data.total_minutes), st.cell_right),
        ]
    )
    widths = [10 * mm, 21 * mm, 56 * mm, 33 * mm, 32 * mm, _FRAME_W - 152 * mm]
    # repeatRows: the header comes back on every page of a long history.
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = _grid_style(st)
    style += [("SPAN", (1, -1), (4, -1)), ("BACKGROUND", (0, -1), (-1, -1), _SHADE)]
    table.setStyle(TableStyle(style))
    return table


def _sorted_lines(lines: Iterable[ServiceLine]) -> list[ServiceLine]:
    return sorted(lines, key=lambda line: line.date)  # stable: same-day order is kept


def _summary_groups(lines: tuple[ServiceLine, ...]) -> tuple[str, list[tuple[str, int, int]]]:
    """(unit, [(label, services, minutes)]) per month, or per year over a long span."""
    by_month: dict[tuple[int, int], list[int]] = {}
    for line in lines:
        by_month.setdefault((line.date.year, line.date.month), []).append(line.minutes)
    if len(by_month) <= MAX_SUMMARY_MONTHS:
        return "月份", [
            (f"{y}年{m}月", len(mins), sum(mins)) for (y, m), mins in sorted(by_month.items())
        ]
    by_year: dict[int, list[int]] = {}
    for (year, _month), mins in by_month.items():
        by_year.setdefault(year, []).extend(mins)
    return "年度", [(f"{y}年", len(mins), sum(mins)) for y, mins in sorted(by_year.items())]


def _summary_table(data: CertificateData, st: _Styles) -> tuple[str, Table]:
    """The summary in up to three side-by-side column groups, so page 1 keeps the signatures."""
    unit, groups = _summary_groups(data.lines)
    n_cols = min(3, -(-len(groups) // 8))  # up to 8 rows a column group
    n_rows = -(-len(groups) // n_cols)
    header = [_p(unit, st.cell_center), _p("次数", st.cell_center), _p("小时", st.cell_center)]
    rows: list[list[Any]] = [header * n_cols]
    for r in range(n_rows):
        row: list[Any] = []
        for c in range(n_cols):
            i = c * n_rows + r  # column-major: read down, then across
            if i < len(groups):
                label, services, minutes = groups[i]
                row += [
                    _p(label, st.cell_center),
                    _p(str(services), st.cell_center),
                    _p(_hours_number(minutes), st.cell_right),
                ]
            else:
                row += ["", "", ""]
        rows.append(row)
    total = f"合计：{len(data.lines)} 次，{format_hours(data.total_minutes)}"
    rows.append([_p(total, st.cell_center)] + [""] * (3 * n_cols - 1))
    group_w = _FRAME_W / 3
    widths = [group_w * 0.42, group_w * 0.24, group_w * 0.34] * n_cols
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = _grid_style(st)
    style += [("SPAN", (0, -1), (-1, -1)), ("BACKGROUND", (0, -1), (-1, -1), _SHADE)]
    # A heavier rule between the column groups.
    style += [("LINEAFTER", (3 * c - 1, 0), (3 * c - 1, -2), 1.2, _INK) for c in range(1, n_cols)]
    table.setStyle(TableStyle(style))
    return unit, table


def _qr_image(url: str) -> Image:
    # Error level M survives a stamp or a fold; the PNG keeps the 4-module quiet zone.
    qr = segno.make(url, error="m", micro=False)
    png = io.BytesIO()
    qr.save(png, kind="png", scale=8, border=4)
    png.seek(0)
    return Image(png, width=_QR_SIZE, height=_QR_SIZE)


def _issuer_block(data: CertificateData, st: _Styles) -> Flowable:
    left = [
        _p(f"出具单位（盖章）：{data.issuer}", st.sign),
        Spacer(1, 10 * mm),  # room for the seal (公章)
        _p(f"负责人（签字）：{data.person_in_charge}", st.sign),
        _p(f"出具日期：{_cn_date(data.issued_on)}", st.sign),
    ]
    right = [
        _qr_image(data.verification_url),
        _p("扫码核验", st.cell_center),
        _p(f"核验码：{data.verification_code}", st.cell_center),
    ]
    table = Table([[left, right]], colWidths=[_FRAME_W - 50 * mm, 50 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), st.font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    url = _p(f"核验网址：{data.verification_url}", st.small)
    return KeepTogether([Spacer(1, 6 * mm), table, Spacer(1, 2 * mm), url])


def _notes(st: _Styles) -> list[Flowable]:
    items = [
        f"本证明依据{RULES_NAME}出具，服务时长以志愿服务记录为准，按小时计、保留至多两位小数。",
        "为保护个人信息，身份证件号码已作脱敏处理。",
        "可扫描二维码或访问核验网址、输入核验码，核验本证明的真实性。",
        "本证明加盖出具单位公章后有效。",
    ]
    flow: list[Flowable] = [Spacer(1, 4 * mm), _p("说明：", st.note)]
    flow += [_p(f"{i}. {text}", st.note) for i, text in enumerate(items, start=1)]
    return flow


def _story(data: CertificateData, st: _Styles, covered: frozenset[int]) -> list[Flowable]:
    long_history = len(data.lines) > SUMMARY_THRESHOLD
    count = len(data.lines)
    story: list[Flowable] = [
        _p("志愿服务证明", st.title),
        _p("Certificate of Volunteer Service", st.subtitle),
        Spacer(1, 3 * mm),
        _p(f"证明编号：{data.certificate_number}", st.number),
        Spacer(1, 2 * mm),
        _p("一、志愿者身份信息", st.heading),
        _identity_table(data, st),
        _p("二、志愿服务信息", st.heading),
    ]
    statement = (
        f"兹证明 {data.volunteer_name}（志愿者编号：{data.volunteer_number}）于"
        f"{_cn_date(data.period_start)}至{_cn_date(data.period_end)}期间参加志愿服务"
        f" {count} 次，累计志愿服务时长 {format_hours(data.total_minutes)}。"
    )
    if long_history:
        unit, summary = _summary_table(data, st)
        story += [
            _p(statement + f"按{unit}汇总如下，服务明细见附表。", st.body),
            Spacer(1, 3 * mm),
            summary,
        ]
    elif count:
        story += [_p(statement + "服务明细如下：", st.body), Spacer(1, 3 * mm)]
        story.append(_detail_table(data, st, covered))
    else:
        story.append(_p(statement, st.body))
    story += [Spacer(1, 2 * mm), _p("特此证明。", st.body)]
    story.append(_issuer_block(data, st))
    story += _notes(st)
    if long_history:
        # The certified statement and the signatures stay on page 1; the annex follows.
        story += [
            PageBreak(),
            _p(f"附表：志愿服务明细（共 {count} 条）", st.heading),
            _detail_table(data, st, covered),
        ]
    return story


class _NumberedCanvas(Canvas):
    """Defers pages so that each footer can say "第 n 页 / 共 N 页"."""

    def __init__(
        self, *args: Any, footer: Callable[[Canvas, int, int], None], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's camelCase API
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(self, self._pageNumber, total)
            super().showPage()
        super().save()


def _footer_painter(data: CertificateData, font: str) -> Callable[[Canvas, int, int], None]:
    def paint(canvas: Canvas, page: int, total: int) -> None:
        # The number and code on every page tie a loose page back to its certificate.
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(_MUTED)
        text = (
            f"证明编号：{data.certificate_number}　核验码：{data.verification_code}"
            f"　第 {page} 页 / 共 {total} 页"
        )
        canvas.drawCentredString(_PAGE_W / 2, 10 * mm, text)
        canvas.restoreState()

    return paint


def render_certificate(
    data: CertificateData,
    *,
    font_path: str | os.PathLike[str] | None = None,
    subfont_index: int | None = None,
) -> bytes:
    """The certificate as PDF bytes (A4, font embedded, deterministic for the same data).

    ``font_path`` defaults to the font ``fonts.cjk_font()`` finds; it must be a TrueType-outline
    CJK font (.ttf or .ttc). Raises ``FontNotAvailableError`` when it is missing or unusable, and
    ``ValueError`` when an identity field has a character the font cannot print.
    """
    if font_path is None:
        found = cjk_font()
        path, index = str(found.path), found.subfont_index
    else:
        path = str(font_path)
        index = DEFAULT_SUBFONT_INDEX
    if subfont_index is not None:
        index = subfont_index
    font, covered = _load_font(path, index)
    _check_glyphs(data, covered)
    styles = _Styles(font)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=f"志愿服务证明 {data.certificate_number}",
        subject="志愿服务证明",
        author=data.issuer,
        creator="wushe-bot",
        invariant=True,  # no timestamp or random ID: same data, same bytes
        initialFontName=font,  # otherwise every page references a non-embedded Helvetica
        lang="zh-CN",
    )
    canvasmaker = partial(_NumberedCanvas, footer=_footer_painter(data, font))
    with _RENDER_LOCK:
        doc.build(_story(data, styles, covered), canvasmaker=canvasmaker)
    return out.getvalue()
