"""The one word list of emergencies: every word and category recognised, in Chinese and in
English, with the right number to call; everyday phrases that contain an alarming word are not."""

import pytest

from bot.domain.emergency_signs import (
    SERVICES,
    WORDS,
    Service,
    Sign,
    detect,
    looks_like_emergency,
    normalise_duty_phone,
)
from bot.domain.errors import InvalidInput

EVERY_WORD = [(sign, word) for sign, words in WORDS.items() for word in words]


@pytest.mark.parametrize(("sign", "word"), EVERY_WORD, ids=[w for _, w in EVERY_WORD])
def test_every_word_of_the_list_is_recognised_inside_a_sentence(sign: Sign, word: str) -> None:
    text = f"请帮帮忙，{word}！" if not word.isascii() else f"Please, {word.upper()} here!"
    found = detect(text)
    assert found is not None
    assert sign in found.signs
    for service in SERVICES[sign]:
        assert service in found.services


def test_every_sign_has_words_in_both_languages_and_a_number() -> None:
    for sign in Sign:
        words = WORDS[sign]
        assert any(w.isascii() for w in words), sign
        assert any(not w.isascii() for w in words), sign
        assert SERVICES[sign], sign


@pytest.mark.parametrize(
    ("text", "sign", "first"),
    [
        ("救命！厨房着火了", Sign.FIRE, Service.AMBULANCE),
        ("老伴在家摔倒了，起不来，胸口疼", Sign.FALL, Service.AMBULANCE),
        ("老伴在家摔倒了，起不来，胸口疼", Sign.CHEST_PAIN, Service.AMBULANCE),
        ("我妈喘不过气来", Sign.BREATHING, Service.AMBULANCE),
        ("爸爸突然晕倒了，叫不醒", Sign.UNCONSCIOUS, Service.AMBULANCE),
        ("屋里一股煤气味", Sign.GAS, Service.FIRE),
        ("楼下有人持刀砍人", Sign.VIOLENCE, Service.POLICE),
        ("我不想活了", Sign.SUICIDE, Service.AMBULANCE),
        ("手割破了，流血不止", Sign.BLEEDING, Service.AMBULANCE),
        ("My husband fell down and can't get up", Sign.FALL, Service.AMBULANCE),
        ("There is a fire in the kitchen", Sign.FIRE, Service.FIRE),
        ("I smell gas in the stairwell", Sign.GAS, Service.FIRE),
        ("My neighbour is not breathing", Sign.BREATHING, Service.AMBULANCE),
        ("Someone broke in and attacked me", Sign.VIOLENCE, Service.POLICE),
        ("I want to die", Sign.SUICIDE, Service.AMBULANCE),
        ("He can’t breathe", Sign.BREATHING, Service.AMBULANCE),  # a typographic apostrophe
    ],
)
def test_real_messages_get_the_right_numbers(text: str, sign: Sign, first: Service) -> None:
    found = detect(text)
    assert found is not None
    assert sign in found.signs
    assert found.services[0] is first


def test_numbers_come_in_a_fixed_order_without_repeats() -> None:
    found = detect("救命！着火了，有人被打伤了")
    assert found is not None
    assert found.services == (Service.AMBULANCE, Service.FIRE, Service.POLICE)
    fire = detect("厨房着火了")
    assert fire is not None and fire.services == (Service.FIRE,)


@pytest.mark.parametrize(
    "text",
    [
        "周末社区一起吃火锅吗",
        "楼道堆满杂物，有火灾隐患",
        "落水管坏了，下雨天漏水",
        "好久不见，想死你了",
        "晚上楼上太吵，被打扰睡不着",
        "我要打人工客服",
        "嗓子冒烟了，想喝水",
        "楼道的灯坏了，老人晚上看不见",
        "家里水管漏水，需要维修",
        "想请人帮忙打扫卫生",
        "We have a fire drill on Friday",
        "The smoke detector needs a new battery",
        "Can you help me fix the light?",
        "This is not an emergency, the tap drips",
        "The fireworks were lovely",
        "What a stroke of luck",
        "",
    ],
)
def test_everyday_messages_are_not_emergencies(text: str) -> None:
    assert detect(text) is None
    assert not looks_like_emergency(text)


def test_a_harmless_phrase_does_not_hide_a_real_emergency_next_to_it() -> None:
    found = detect("正在吃火锅，老人突然晕倒了")
    assert found is not None and Sign.UNCONSCIOUS in found.signs


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("023-68123456", "023-68123456"), (" 138 0000 0000 ", "138 0000 0000"), ("12345", "12345")],
)
def test_a_duty_phone_is_kept_as_it_will_be_shown(raw: str, shown: str) -> None:
    assert normalise_duty_phone(raw) == shown


@pytest.mark.parametrize("raw", ["call Wang", "12", "023-6812345678901234567", "<b>110</b>"])
def test_a_duty_phone_that_is_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_duty_phone(raw)
