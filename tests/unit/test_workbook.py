"""The XLSX exports read as the person expects: yes/no in their words, times in the
deployment's time zone (not UTC), columns as wide as what they hold."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.documents.workbook import Sheet, text_width, workbook

CHONGQING = ZoneInfo("Asia/Shanghai")


def _sheet(spec: Sheet, tz: ZoneInfo | None = CHONGQING):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(workbook([spec], tz))).worksheets[0]


def test_yes_and_no_are_written_in_the_readers_words_and_still_colour_the_row() -> None:
    sheet = _sheet(
        Sheet(
            "指标",
            ["指标", "达标"],
            [["志愿者比例", True], ["社区基金", False]],
            {},
            1,
            ("是", "否"),
        )
    )
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["是", "否"]
    assert sheet["A2"].fill.fgColor.rgb.endswith("C8E6C9")  # met: green
    assert sheet["A3"].fill.fgColor.rgb.endswith("FFCDD2")  # behind: red
    english = _sheet(Sheet("KPIs", ["KPI", "Met"], [["share", True]], {}, 1, ("Yes", "No")))
    assert english["B2"].value == "Yes"


def test_times_are_in_the_deployments_time_zone_not_utc() -> None:
    at = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # 09:30 in Chongqing
    sheet = _sheet(Sheet("记录", ["时间"], [[at]], {}))
    assert sheet["A2"].value == datetime(2026, 12, 7, 9, 30)  # noqa: DTZ001 - a sheet cell is naive
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"


def test_columns_are_as_wide_as_their_longest_content() -> None:
    long_name = "每万城镇常住人口社区工作者数"
    sheet = _sheet(Sheet("指标", ["单位", "指标", "值"], [["甲街道", long_name, 300.0]], {}))
    assert sheet.column_dimensions["B"].width >= text_width(long_name) == 28
    assert sheet.column_dimensions["C"].width < sheet.column_dimensions["B"].width
    assert sheet.column_dimensions["A"].width >= text_width("甲街道")
