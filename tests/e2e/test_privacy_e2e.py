"""/privacy, /mydata and /deleteme through the real bot process and the fake Bot API server,
in Chinese and in English: consents shown, the two files of one's data, erasure after a
confirmation (the next /start is a new person)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage.db import make_engine
from storage.models import AccessLogEntry, Person
from tests.e2e.test_needs_e2e import onboard, tap
from tests.support.fake_telegram import FakeTelegram

ZH_USER, EN_USER = 9301, 9302


async def documents(fake: FakeTelegram, user: int, count: int) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for _ in range(count):
        message = await fake.wait_for_bot_message(
            user,
            predicate=lambda m: "document" in m and m["document"]["file_name"] not in found,
        )
        found[message["document"]["file_name"]] = fake.file_bytes(message["document"]["file_id"])
    return found


async def people(database_url: str) -> list[tuple[str, bool]]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Person.display_name, Person.erased_at).order_by(Person.id)
            )
            return [(name, erased is not None) for name, erased in rows]
    finally:
        await engine.dispose()


async def access_kinds(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [str(k) for k in (await connection.scalars(select(AccessLogEntry.kind))).all()]
    finally:
        await engine.dispose()


async def test_privacy_mydata_and_deleteme_through_the_real_bot(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    await onboard(fake, ZH_USER, "王阿姨")
    await onboard(fake, EN_USER, "Anna", english=True)

    fake.user_sends(ZH_USER, "/privacy")
    await fake.wait_for_bot_message(ZH_USER, contains="您还没有作出任何同意")
    fake.user_sends(EN_USER, "/privacy")
    await fake.wait_for_bot_message(EN_USER, contains="You have not given any consent yet.")

    fake.user_sends(EN_USER, "/mydata")
    await fake.wait_for_bot_message(EN_USER, contains="Here is everything stored about you")
    files = await documents(fake, EN_USER, 2)
    assert set(files) == {"mydata.txt", "mydata.json"}
    assert "== Profile (1) ==" in files["mydata.txt"].decode()
    data = json.loads(files["mydata.json"])
    assert data["sections"]["accounts"][0]["external_id"] == str(EN_USER)
    assert await access_kinds(e2e_database_url) == ["export"]

    fake.user_sends(ZH_USER, "/mydata")
    zh_files = await documents(fake, ZH_USER, 2)
    assert "== 个人资料 (1) ==" in zh_files["mydata.txt"].decode()

    fake.user_sends(ZH_USER, "/deleteme")
    await tap(fake, ZH_USER, "删除您的信息？", "是的，删除我的信息")
    await fake.wait_for_bot_message(ZH_USER, contains="您的信息已删除。")
    fake.user_sends(EN_USER, "/deleteme")
    await tap(fake, EN_USER, "Erase your data?", "No, keep it")
    await fake.wait_for_bot_message(EN_USER, contains="Nothing was changed.")
    everyone = await people(e2e_database_url)
    assert [name for name, erased in everyone if erased] == [""]
    assert ("Anna", False) in everyone
    # Writing again, the erased person's Telegram account is a stranger: a new person.
    fake.user_sends(ZH_USER, "/start", first_name="王阿姨")
    await fake.wait_for_bot_message(ZH_USER, contains="choose your language")
    assert len(await people(e2e_database_url)) == len(everyone) + 1
    assert not (await people(e2e_database_url))[-1][1]
