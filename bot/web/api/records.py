"""A person's volunteer service records (志愿服务记录) and certificates (志愿服务证明) for city
apps, acting for the person: the same lists as /hours in chat, and each certificate's code,
which /verify and the verify page check."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from bot.domain.attendance import RecordStatus
from bot.services import attendance, certificates
from bot.web.api import common
from bot.web.api import core as api
from bot.web.api.models import CommunityOut
from bot.web.api.openapi import PERSON


class RecordOut(BaseModel):
    id: int
    shift_id: int
    content: str
    place: str
    community: CommunityOut
    status: RecordStatus
    checked_in_at: datetime
    checked_out_at: datetime | None
    minutes: int = Field(description="Credited minutes (confirmed records count).")
    correction_pending: bool


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None


class CertificateOut(BaseModel):
    number: str
    verification_code: str = Field(
        description="What /verify in chat and the page /verify/<code> check."
    )
    verify_url: str
    period_start: date
    period_end: date
    total_minutes: int
    records: int
    issuer: str
    issued_at: datetime


class CertificateList(BaseModel):
    items: list[CertificateOut]


async def records(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, "records:read")
    common.only(request)
    page_number = common.page_number(request)
    person = await api._principal(request, client, None)
    page = await attendance.my_records(config.uow(), person, page=page_number)
    items = [
        RecordOut(
            id=r.id,
            shift_id=r.shift_id,
            content=r.content,
            place=r.place,
            community=common.community_out(r.community),
            status=r.status,
            checked_in_at=r.checked_in_at.astimezone(config.tz),
            checked_out_at=r.checked_out_at.astimezone(config.tz) if r.checked_out_at else None,
            minutes=r.minutes,
            correction_pending=r.correction_pending,
        )
        for r in page.items
    ]
    return common.ok(RecordPage(items=items, next_cursor=common.next_cursor(page)))


async def certificate_list(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, "records:read")
    common.only(request)
    person = await api._principal(request, client, None)
    found = await certificates.of_person(config.uow(), person)
    items = [
        CertificateOut(
            number=c.number,
            verification_code=c.code,
            verify_url=f"/verify/{c.code}",
            period_start=c.period_start,
            period_end=c.period_end,
            total_minutes=c.total_minutes,
            records=c.records,
            issuer=c.issuer,
            issued_at=c.issued_at.astimezone(config.tz),
        )
        for c in found
    ]
    return common.ok(CertificateList(items=items))


ROUTES = [("GET", "/records", records), ("GET", "/certificates", certificate_list)]
MODELS = [RecordPage, CertificateList]
PATHS: dict[str, Any] = {
    "/records": {
        "get": common.operation(
            "myServiceRecords",
            "The person's volunteer service records, newest first",
            "records:read",
            [PERSON, common.CURSOR],
            common.answer(RecordPage, "One page"),
        )
    },
    "/certificates": {
        "get": common.operation(
            "myCertificates",
            "The service certificates issued to the person, with their verification codes",
            "records:read",
            [PERSON],
            common.answer(CertificateList, "The certificates"),
        )
    },
}
