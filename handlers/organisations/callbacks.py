"""Callback data of organisations: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class OrgAction(StrEnum):
    """What a tap on a OrgCb button asks for; each value is what the button packs."""

    INVITE = "invite"
    NEW = "new"
    NO = "no"
    OK = "ok"
    PROJECT = "project"
    REG = "reg"
    TYPE = "type"


class OrgCb(CallbackData, prefix="og"):
    action: OrgAction
    id: int = 0
    value: str = ""
