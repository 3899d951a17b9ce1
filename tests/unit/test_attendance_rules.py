"""The pure attendance, points and hours rules: distance, the check-in window, site codes,
hours as people type them, the reproducible spot-check draw. No database."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.attendance import (
    EXPIRED_CODE_WINDOWS,
    SITE_CODE_ALPHABET,
    SITE_CODE_LENGTH,
    CodeCheck,
    Window,
    classify_code,
    code_from_digest,
    distance_m,
    draw_sample,
    looks_like_code,
    parse_hours,
)
from bot.domain.errors import InvalidInput
from bot.domain.points import points_for
from bot.domain.timebank import hours_text

START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Chongqing
END = START + timedelta(hours=2)
WINDOW = Window(START, END)
HERE = (29.5630, 106.4650)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# ---------------------------------------------------------------- distance


def test_two_kilometres_north_is_about_two_kilometres() -> None:
    far = distance_m(HERE[0], HERE[1], HERE[0] + 0.018, HERE[1])
    assert 1900 <= far <= 2100
    # Symmetric, and the same point is no distance at all.
    assert distance_m(HERE[0] + 0.018, HERE[1], HERE[0], HERE[1]) == pytest.approx(far)
    assert distance_m(HERE[0], HERE[1], HERE[0], HERE[1]) == 0


def test_a_few_metres_are_a_few_metres() -> None:
    # 0.0001° of latitude is about 11 m: well inside any sensible radius.
    assert 10 <= distance_m(HERE[0], HERE[1], HERE[0] + 0.0001, HERE[1]) <= 12


# ---------------------------------------------------------------- the window


def test_check_in_opens_half_an_hour_before_the_start_and_closes_at_the_end() -> None:
    assert WINDOW.check_in_opens == START - minutes(30)
    assert not WINDOW.check_in_open(START - minutes(30) - timedelta(seconds=1))
    assert WINDOW.check_in_open(START - minutes(30))
    assert WINDOW.check_in_open(START)
    assert WINDOW.check_in_open(END - timedelta(seconds=1))
    assert not WINDOW.check_in_open(END)
    assert not WINDOW.check_in_open(END + minutes(10))


def test_served_minutes_count_only_the_shift() -> None:
    # Early arrival and late departure are clamped to the shift.
    assert WINDOW.served_minutes(START - minutes(25), END + minutes(40)) == 120
    assert WINDOW.served_minutes(START - minutes(25), START + minutes(45)) == 45
    assert WINDOW.served_minutes(START + minutes(15), END + minutes(5)) == 105
    assert WINDOW.served_minutes(START + minutes(15), START + minutes(60)) == 45
    # Whole minutes, rounded down.
    assert WINDOW.served_minutes(START, START + minutes(45) + timedelta(seconds=59)) == 45


def test_served_minutes_are_never_negative() -> None:
    assert WINDOW.served_minutes(START + minutes(60), START + minutes(30)) == 0
    assert WINDOW.served_minutes(START - minutes(30), START - minutes(10)) == 0
    assert WINDOW.served_minutes(END + minutes(5), END + minutes(20)) == 0


def test_length_minutes() -> None:
    assert WINDOW.length_minutes == 120
    assert Window(START, START + minutes(45)).length_minutes == 45


# ---------------------------------------------------------------- site codes


def code_of(n: int) -> str:
    return code_from_digest(hashlib.sha256(f"window:{n}".encode()).digest())


def codes_around(current: int) -> dict[int, str]:
    """Codes of the current window and the 13 before it (one more than is recognised)."""
    return {w: code_of(w) for w in range(current - EXPIRED_CODE_WINDOWS - 1, current + 1)}


def test_the_current_and_the_previous_codes_are_valid() -> None:
    current = 5_900_000
    codes = codes_around(current)
    assert classify_code(codes[current], codes, current) is CodeCheck.VALID
    assert classify_code(codes[current - 1], codes, current) is CodeCheck.VALID


def test_codes_up_to_an_hour_old_are_expired_and_older_ones_wrong() -> None:
    current = 5_900_000
    codes = codes_around(current)
    assert len(set(codes.values())) == len(codes)  # the test's codes are distinct
    for age in range(2, EXPIRED_CODE_WINDOWS + 1):
        assert classify_code(codes[current - age], codes, current) is CodeCheck.EXPIRED, age
    assert classify_code(codes[current - EXPIRED_CODE_WINDOWS - 1], codes, current) is (
        CodeCheck.WRONG
    )
    # The next window's code is not known yet.
    assert classify_code(code_of(current + 1), codes, current) is CodeCheck.WRONG


def test_an_unknown_code_is_wrong() -> None:
    current = 5_900_000
    codes = codes_around(current)
    unknown = "ZZZZZZ"
    assert unknown not in codes.values()
    assert classify_code(unknown, codes, current) is CodeCheck.WRONG
    assert classify_code("", codes, current) is CodeCheck.WRONG


def test_codes_are_read_in_lower_case_and_with_spaces() -> None:
    current = 5_900_000
    codes = codes_around(current)
    typed = " ".join(codes[current].lower()[i : i + 2] for i in range(0, SITE_CODE_LENGTH, 2))
    assert typed != codes[current]
    assert classify_code(typed, codes, current) is CodeCheck.VALID
    assert classify_code(f"  {codes[current - 3].lower()} ", codes, current) is CodeCheck.EXPIRED


def test_looks_like_code() -> None:
    assert looks_like_code("ABC234")
    assert looks_like_code("abc 234")
    assert looks_like_code(" ab c2 34 ")
    assert not looks_like_code("ABC23")
    assert not looks_like_code("ABC2345")
    assert not looks_like_code("ABC-23")
    assert not looks_like_code("一二三四五六")  # letters, but not ASCII
    assert not looks_like_code("ＡＢＣ２３４")  # full-width
    assert not looks_like_code("")


def test_code_from_digest_uses_the_unambiguous_alphabet_and_the_length() -> None:
    assert not set("01OI") & set(SITE_CODE_ALPHABET)
    seen: set[str] = set()
    for n in range(500):
        code = code_from_digest(hashlib.sha256(str(n).encode()).digest())
        assert len(code) == SITE_CODE_LENGTH
        assert set(code) <= set(SITE_CODE_ALPHABET)
        assert looks_like_code(code)
        seen.add(code)
    assert len(seen) == 500  # no collisions in a small sample
    # Every letter of the alphabet turns up (the whole alphabet is used, not a part of it).
    assert set("".join(seen)) == set(SITE_CODE_ALPHABET)
    # A digest of zero bytes is the first letter repeated; the same digest, the same code.
    assert code_from_digest(bytes(32)) == SITE_CODE_ALPHABET[0] * SITE_CODE_LENGTH
    digest = hashlib.sha256(b"same").digest()
    assert code_from_digest(digest) == code_from_digest(digest)


# ---------------------------------------------------------------- hours typed by people


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 120),
        ("2.5", 150),
        ("2:30", 150),
        ("2小时", 120),
        ("1：15", 75),
        (" 1.5 小时 ", 90),
        ("2h", 120),
        ("0:45", 45),
        ("0", 0),
        ("24", 24 * 60),
    ],
)
def test_parse_hours_reads_what_people_write(text: str, expected: int) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    "text", ["abc", "2:75", "-1", "25", "inf", "nan", "", "2:", "1:-5", "24:01", "-1:30"]
)
def test_parse_hours_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_hours(text)
    assert refused.value.field == "hours"


# ---------------------------------------------------------------- the spot-check draw


def test_the_same_ids_and_seed_draw_the_same_sample_in_any_order() -> None:
    ids = list(range(100, 160))
    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != ids
    first = draw_sample(ids, 1234, 10)
    assert draw_sample(shuffled, 1234, 10) == first
    assert draw_sample(list(reversed(ids)), 1234, 10) == first
    assert len(first) == 10 and len(set(first)) == 10
    assert set(first) <= set(ids)
    assert first == sorted(first)


def test_a_sample_larger_than_the_population_is_everything() -> None:
    assert draw_sample([5, 3, 9], 42, 10) == [3, 5, 9]
    assert draw_sample([5, 3, 9], 42, 3) == [3, 5, 9]
    assert draw_sample([], 42, 5) == []


def test_different_seeds_usually_draw_differently() -> None:
    ids = list(range(1, 201))
    samples = {tuple(draw_sample(ids, seed, 5)) for seed in range(20)}
    assert len(samples) >= 18


# ---------------------------------------------------------------- points and hours text


def test_points_are_whole_and_rounded_down() -> None:
    assert points_for(45, 10) == 7
    assert points_for(60, 10) == 10
    assert points_for(59, 10) == 9
    assert points_for(150, 12) == 30
    assert points_for(0, 10) == 0
    assert points_for(-30, 10) == 0
    assert points_for(60, 0) == 0


@pytest.mark.parametrize(
    ("minutes_", "text"),
    [(0, "0"), (90, "1.5"), (125, "2.08"), (60, "1"), (600, "10"), (1, "0.02"), (3, "0.05")],
)
def test_hours_text(minutes_: int, text: str) -> None:
    assert hours_text(minutes_) == text


def test_hours_text_refuses_what_is_not_whole_minutes() -> None:
    for bad in (1.5, True, "60"):
        with pytest.raises(InvalidInput):
            hours_text(bad)  # type: ignore[arg-type]
