"""Callback data of the time bank (/hours): re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class HoursAction(StrEnum):
    """What a tap on a HoursCb button asks for; each value is what the button packs."""

    CERT = "cert"
    CERT_MENU = "cert_menu"
    FIX = "fix"
    LINES = "lines"
    RECORDS = "records"
    TB_NEW = "tb_new"
    TB_NO = "tb_no"
    TB_OK = "tb_ok"


class HoursCb(CallbackData, prefix="hr"):
    """Volunteers: lines | records | fix (ask a correction) | cert (value: period)."""

    action: HoursAction
    id: int = 0
    value: str = ""
