"""`python -m bot demo-data` twice, and `admin grant --code` with a /link code from chat, run
as the command line runs them (on a fresh SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.__main__ import _parser
from bot.config import load_settings
from bot.domain.enums import Role
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.services import people
from storage.db import make_engine, make_session_factory
from storage.models import Person
from storage.uow import UnitOfWork


async def _run(url: str, *argv: str) -> int:
    settings = load_settings(database_url=url, secret_key="demo-test-secret")
    return await cli.dispatch(_parser().parse_args(list(argv)), settings)


async def test_demo_data_makes_a_living_district_once_and_a_link_code_names_the_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    assert await _run(url, "demo-data") == 0
    first = capsys.readouterr().out
    assert "Added 4 verified volunteers, 5 requests, 3 shifts next week" in first
    assert await _run(url, "demo-data") == 0
    assert "nothing changed" in capsys.readouterr().out

    engine = make_engine(url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            me = await uow.people.add_person(Person(display_name="新来的区管理员", locale="zh"))
            await uow.commit()
            person_id = me.id
        code = await people.create_link_code(uow, Principal(person_id, "zh"))  # /link in chat
        argv = ("admin", "grant", "--code", code.lower(), "--role", "district_admin")
        assert await _run(url, *argv, "--district", "1") == 0
        assert f"to person {person_id}" in capsys.readouterr().out
        async with uow:
            roles = [g.role for g in await uow.grants.active_for(person_id)]
        assert roles == [Role.DISTRICT_ADMIN]
        with pytest.raises(InvalidInput):  # a code names its person once
            await people.person_for_link_code(uow, code=code)
    finally:
        await engine.dispose()
