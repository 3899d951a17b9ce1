from pathlib import Path

import pytest

from bot.cli import read_places
from bot.domain.errors import InvalidInput
from bot.services import places
from storage.uow import UnitOfWork

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "places-example.csv"


async def test_the_example_file_imports_and_a_second_import_only_updates(uow: UnitOfWork) -> None:
    rows = read_places(EXAMPLE)
    first = await places.import_places(uow, rows=rows)
    second = await places.import_places(uow, rows=rows)
    assert (first.created, first.updated) == (2, 0)
    assert (second.created, second.updated) == (0, 2)
    communities = await places.all_communities(uow)
    assert [(c.name, c.street.name, c.district.name_en) for c in communities] == [
        ("磁器口社区", "磁器口街道", "Shapingba District"),
        ("龙泉村", "中梁镇", "Shapingba District"),
    ]


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "district,street,community,code,kind,population\n"
        "A区,B街道,C社区,C1,urban,100\n"
        "A区,B街道,D社区,D1,city,100\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="line 3: kind must be urban or rural"):
        read_places(path)
    path.write_text("district,street\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns: community, code, kind, population"):
        read_places(path)


async def test_a_code_taken_by_another_community_is_refused(uow: UnitOfWork) -> None:
    rows = read_places(EXAMPLE)
    await places.import_places(uow, rows=rows)
    clash = places.PlaceRow("沙坪坝区", "磁器口街道", "新社区", "CQK", rows[0].kind, 10)
    with pytest.raises(InvalidInput):
        await places.import_places(uow, rows=[clash])
