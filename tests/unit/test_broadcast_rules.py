"""The pure rules of broadcasts: the pace of a channel, the language each reader gets, the
audience's round trip through JSON, and the schedule's time format."""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.broadcasts import Audience, AudienceKind, Pacer, parse_when, text_for
from bot.domain.errors import InvalidInput


def test_the_pacer_spaces_messages_by_the_rate() -> None:
    pacer = Pacer(rate=25)
    slots = [pacer.slot(0.0, f"chat{n}") for n in range(50)]
    assert slots[0] == 0.0
    assert slots[-1] == pytest.approx(49 / 25)
    # No window of one second holds more than 25.
    assert max(sum(1 for s in slots if start <= s < start + 1) for start in slots) == 25


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=60))
def test_one_chat_never_gets_two_messages_within_a_second(chats: list[str]) -> None:
    pacer = Pacer(rate=30)
    times: dict[str, list[float]] = {}
    for chat in chats:
        times.setdefault(chat, []).append(pacer.slot(0.0, chat))
    for moments in times.values():
        assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(moments))


def test_a_retry_after_holds_the_whole_channel() -> None:
    pacer = Pacer(rate=25)
    pacer.slot(0.0, "a")
    pacer.hold(0.1, 3.0)
    assert pacer.slot(0.2, "b") == pytest.approx(3.1)
    assert pacer.slot(0.2, "c") == pytest.approx(3.1 + 1 / 25)


def test_each_reader_gets_their_language_when_both_were_given() -> None:
    assert text_for("en", "中文", "English") == "English"
    assert text_for("zh", "中文", "English") == "中文"
    assert text_for("en", "中文", "") == "中文"
    assert text_for("zh", "", "English") == "English"


def test_an_audience_survives_its_json_round_trip() -> None:
    audience = Audience(AudienceKind.PROJECT_FIT, (3, 5), ("elderly_care",), "en", 12)
    assert Audience.from_json(audience.as_json()) == audience


def test_the_schedule_is_read_in_local_time_and_nonsense_is_refused() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    moment = parse_when("2026-12-01  09:30", tz)
    assert (moment.hour, moment.utcoffset().total_seconds()) == (9, 8 * 3600)  # type: ignore[union-attr]
    for bad in ("tomorrow", "2026-13-01 09:30", "2026-12-01"):
        with pytest.raises(InvalidInput):
            parse_when(bad, tz)


def test_a_group_chat_gets_at_most_20_posts_a_minute() -> None:
    pacer = Pacer(rate=25)
    group_gap = 60 / 20
    group = [pacer.slot(0.0, "-1001", interval=group_gap) for _ in range(21)]
    # Twenty-one posts into one group: 3 s apart, never 21 within a minute.
    assert [b - a for a, b in itertools.pairwise(group)] == [pytest.approx(3.0)] * 20
    assert max(sum(1 for s in group if start <= s < start + 60) for start in group) == 20
    # Whether the group may have its next post is known without reserving a slot (the sender
    # puts a group row that is not ready back in the queue instead of holding the channel).
    assert pacer.ready_at("-1001", group_gap) == pytest.approx(63.0)
    assert pacer.ready_at("never-sent-to", group_gap) == 0.0


def test_a_group_is_remembered_long_enough_to_keep_its_spacing() -> None:
    pacer = Pacer(rate=25)
    first = pacer.slot(0.0, "-1001", interval=3.0)
    for n in range(100):  # plenty of private traffic meanwhile (forgotten after 2 s)
        pacer.slot(0.04 * n, f"chat{n}")
    assert pacer.slot(2.5, "-1001", interval=3.0) >= first + 3.0
