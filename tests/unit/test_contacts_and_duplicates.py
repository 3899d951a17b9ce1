"""Names, contact phones, addresses, and "is this the same request?" — pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.contacts import (
    building_of,
    clean_address,
    clean_name,
    is_channel_label,
    normalise_contact_phone,
    shown_name,
)
from bot.domain.duplicates import Report, concepts, is_alike, likeness
from bot.domain.errors import InvalidInput
from bot.domain.needs import NeedCategory

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HERE = (29.5630, 106.4650)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("８６１３８００１３８０００", "13800138000"),
        ("023-6812 3456", "023-68123456"),
        ("(023) 68123456", "023-68123456"),
        ("010 8765 4321", "010-87654321"),
        ("0851-8123456", "0851-8123456"),
        ("023-68123456转12", "023-68123456-12"),
        ("6812 3456", "68123456"),
    ],
)
def test_mainland_mobiles_and_landlines_are_accepted_in_one_written_form(
    typed: str, stored: str
) -> None:
    assert normalise_contact_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "2380013800", "abc", "", "138001380001", "023-12"])
def test_what_is_not_a_phone_number_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_contact_phone(typed)


def test_channel_ids_are_never_names() -> None:
    assert is_channel_label("web-85245") and is_channel_label("telegram:123")
    assert not is_channel_label("王阿姨") and not is_channel_label("webster")
    assert shown_name("web-85245", 12) == "#12"
    assert shown_name("", 12) == "#12" and shown_name(" 王阿姨 ", 12) == "王阿姨"


@pytest.mark.parametrize(
    "typed", ["你好", "hello!", "web-12345", "/need", "12345", "楼道灯坏了，快来"]
)
def test_greetings_sentences_and_ids_are_not_taken_for_a_name(typed: str) -> None:
    with pytest.raises(InvalidInput):
        clean_name(typed)


def test_a_name_is_kept_as_typed_within_limits() -> None:
    assert clean_name("  王  阿姨 ") == "王 阿姨"
    with pytest.raises(InvalidInput):
        clean_name("王" * 31)
    with pytest.raises(InvalidInput):
        clean_address("门" * 201)


@pytest.mark.parametrize(
    ("address", "building"),
    [("5栋2单元301", "5"), ("12号楼3单元", "12"), ("Building 5, Flat 301", "5"), ("三栋", "3")],
)
def test_the_building_is_read_from_an_address(address: str, building: str) -> None:
    assert building_of(address) == building


def test_no_building_in_an_address_without_one() -> None:
    assert building_of("解放碑步行街") is None and building_of(None) is None


def report(text: str, **kw: object) -> Report:
    values: dict[str, object] = {
        "category": NeedCategory.OTHER,
        "description": text,
        "created_at": NOW,
    }
    values.update(kw)
    return Report(**values)  # type: ignore[arg-type]


def test_the_same_broken_light_is_found_across_languages() -> None:
    chinese = report("楼道灯坏了，晚上看不见", category=NeedCategory.ELDERLY_CARE)
    english = report("The light in our stairwell is broken")
    assert {"light", "broken", "corridor"} <= concepts(english.description)
    assert is_alike(likeness(english, chinese))


def test_the_same_trouble_in_another_building_is_another_request() -> None:
    five = report("5栋电梯坏了", building="5")
    seven = report("The lift is broken", building="7")
    assert likeness(seven, five) == 0.0
    assert is_alike(likeness(report("The lift is broken", building="5"), five))


def test_different_requests_are_not_alike_even_in_one_building_and_week() -> None:
    light = report("楼道灯坏了", building="5", created_at=NOW - timedelta(days=1))
    meals = report("My mother needs meals delivered", building="5")
    assert likeness(meals, light) == 0.0


def test_place_and_time_decide_between_similar_wordings() -> None:
    old = report("the lift is broken", location=HERE, created_at=NOW - timedelta(days=1))
    near = report("电梯坏了", location=(HERE[0] + 0.0005, HERE[1]))
    far = report("电梯坏了", location=(HERE[0] + 0.03, HERE[1]))
    assert likeness(near, old) > likeness(far, old)
    assert is_alike(likeness(near, old)) and not is_alike(likeness(far, old))
    stale = report("the lift is broken", location=HERE, created_at=NOW - timedelta(days=60))
    assert likeness(near, old) > likeness(near, stale)


def test_the_same_spot_and_category_count_without_shared_words() -> None:
    old = report("路灯", category=NeedCategory.COMMUNITY_AFFAIRS, location=HERE)
    new = report("这里晚上很黑", category=NeedCategory.COMMUNITY_AFFAIRS, location=HERE)
    assert is_alike(likeness(new, old))


def test_neighbours_of_two_buildings_can_report_the_same_street_light() -> None:
    five = report("小区路灯坏了", home_building="5")
    seven = report("The street light is broken", home_building="7")
    assert is_alike(likeness(seven, five))
    same_home = report("The street light is broken", home_building="5")
    assert likeness(same_home, five) > likeness(seven, five)


def test_what_is_kept_of_a_compared_text_is_unreadable_bounded_and_compares_the_same() -> None:
    """Each text's concepts and character pairs are kept per process between filings: only
    as a keyed digest and salted hashes beside the lexicon's concept names (an erased
    person's words are not in memory because of it), never more than READ_KEPT texts, and a
    comparison through them scores exactly as one from the texts."""
    from bot.domain import duplicates
    from bot.domain.needs import similarity

    text = "王阿姨住3号楼，楼道灯坏了一个星期"
    report(text)
    kept = repr(list(duplicates._read_texts.items()))
    pairs = [text[i : i + 2] for i in range(len(text) - 1)]
    assert not any(pair in kept for pair in pairs) and "王阿姨" not in kept
    lexicon = set(duplicates.LEXICON)
    assert all(names <= lexicon for names, _ in duplicates._read_texts.values())

    for n in range(duplicates.READ_KEPT + 50):
        report(f"第{n}号楼的电梯坏了")
    assert len(duplicates._read_texts) == duplicates.READ_KEPT

    texts = ["楼道灯坏了，晚上看不见", "The light in our stairwell is broken", "楼道的灯不亮了"]
    for a in texts:
        for b in texts:
            direct = duplicates.meaning(a, b)
            through_kept = duplicates._meaning(
                report(a).concepts,
                report(b).concepts,
                min(
                    1.0,
                    2
                    * len(report(a).grams & report(b).grams)
                    / len(report(a).grams | report(b).grams),
                ),
            )
            assert through_kept == pytest.approx(direct)
    assert similarity(texts[0], texts[2]) > 0
