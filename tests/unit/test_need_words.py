"""Words that help a conversation: a category guessed from a description, small talk told
apart from a request, and the new categories matching the volunteer skills of their names."""

import pytest

from bot.domain.matching import CATEGORY_SKILLS, category_mask, skill_mask
from bot.domain.needs import NeedCategory, guess_category, is_small_talk
from bot.domain.volunteers import Skill


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("家里水管坏了，一直漏水", NeedCategory.HOME_REPAIR),
        ("马桶堵了", NeedCategory.HOME_REPAIR),
        ("想请人上门打扫卫生", NeedCategory.HOUSEKEEPING),
        ("需要家政阿姨做饭", NeedCategory.HOUSEKEEPING),
        ("楼道灯坏了，老人晚上看不见", NeedCategory.COMMUNITY_AFFAIRS),
        ("老伴行动不便，想找人陪同看病", NeedCategory.ELDERLY_CARE),
        ("孩子放学没人接", NeedCategory.CHILD_CARE),
        ("My kitchen tap is leaking", NeedCategory.HOME_REPAIR),
        ("I need help with cleaning my flat", NeedCategory.HOUSEKEEPING),
        ("I feel lonely and would like to talk to someone", NeedCategory.PSYCHOLOGICAL),
    ],
)
def test_a_category_is_guessed_from_the_words_of_a_description(
    text: str, category: NeedCategory
) -> None:
    assert guess_category(text) is category


@pytest.mark.parametrize("text", ["请问这个怎么办", "Something strange happened", "嗯"])
def test_no_guess_when_no_word_fits(text: str) -> None:
    assert guess_category(text) is None


@pytest.mark.parametrize(
    "text", ["你好", "您好！", "在吗？", "有人吗", "Hello", "hi there", "谢谢你们", "早上好呀"]
)
def test_greetings_are_small_talk(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize(
    "text", ["你好，我家水管坏了", "老伴摔倒了", "Hi, my tap is leaking", "我想申请低保"]
)
def test_a_described_problem_is_not_small_talk(text: str) -> None:
    assert not is_small_talk(text)


def test_home_repair_and_housekeeping_match_the_skills_of_the_same_names() -> None:
    assert Skill.REPAIRS in CATEGORY_SKILLS[NeedCategory.HOME_REPAIR]
    assert Skill.HOUSEKEEPING in CATEGORY_SKILLS[NeedCategory.HOUSEKEEPING]
    assert category_mask(NeedCategory.HOME_REPAIR) & skill_mask(["repairs"])
    assert category_mask(NeedCategory.HOUSEKEEPING) & skill_mask(["housekeeping"])


def test_a_new_skill_keeps_the_bits_of_the_stored_skill_masks() -> None:
    # Masks are stored with volunteer profiles: the skills that were there keep their bits.
    assert list(Skill)[:12] == [
        Skill.ELDERLY_CARE,
        Skill.CHILD_CARE,
        Skill.DISABILITY_SUPPORT,
        Skill.HEALTH,
        Skill.PSYCHOLOGICAL,
        Skill.COOKING,
        Skill.REPAIRS,
        Skill.DRIVING,
        Skill.TEACHING,
        Skill.LEGAL,
        Skill.DIGITAL,
        Skill.CULTURE,
    ]


def test_every_category_says_which_skills_serve_it() -> None:
    assert set(CATEGORY_SKILLS) == set(NeedCategory)


def test_a_category_asks_for_all_of_its_skills_not_only_the_first() -> None:
    assert category_mask(NeedCategory.ELDERLY_CARE) == skill_mask(
        ["elderly_care", "health", "cooking"]
    )
