"""Signs of an emergency in what a person types: the one word list of the project.

The bot is not an emergency service. When a message sounds like one, the person is told at
once which number to call (120 ambulance, 119 fire, 110 police) before anything else happens.
Pure: no I/O, no framework.

How the list was reviewed:
* Chinese is matched as substrings, English as whole words or phrases (so "stroke" does not
  match "strokes of luck" and "fire" does not match "ceasefire" or "fireworks").
* Phrases that merely contain an alarming word are removed first ("火锅", "火灾隐患",
  "落水管", "想死你了", "fire drill"…), so a complaint about a fire hazard in the stairwell
  or a hotpot invitation is not an emergency.
* A fall is listed with its consequences ("摔倒", "起不来") because for an elderly person
  living alone a fall is the most common emergency; single characters ("火", "血") are never
  words of the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import InvalidInput


class Sign(StrEnum):
    FALL = "fall"
    CHEST_PAIN = "chest_pain"
    BREATHING = "breathing"
    UNCONSCIOUS = "unconscious"
    STROKE = "stroke"
    BLEEDING = "bleeding"
    POISONING = "poisoning"
    DROWNING = "drowning"
    ELECTRIC_SHOCK = "electric_shock"
    FIRE = "fire"
    GAS = "gas"
    VIOLENCE = "violence"
    SUICIDE = "suicide"
    CRY_FOR_HELP = "cry_for_help"  # "救命", "SOS": we do not know what, so every number


class Service(StrEnum):
    """The public emergency numbers of mainland China."""

    AMBULANCE = "120"
    FIRE = "119"
    POLICE = "110"


# Chinese words (substrings) and English words or phrases (whole words), per sign.
WORDS: dict[Sign, tuple[str, ...]] = {
    Sign.FALL: (
        "摔倒",
        "跌倒",
        "摔了一跤",
        "摔了一下",
        "摔伤",
        "摔在地上",
        "倒在地上",
        "起不来",
        "爬不起来",
        "站不起来",
        "fell down",
        "fell over",
        "had a fall",
        "has fallen",
        "have fallen",
        "fallen down",
        "can't get up",
        "cannot get up",
        "can not get up",
    ),
    Sign.CHEST_PAIN: (
        "胸口疼",
        "胸口痛",
        "胸痛",
        "胸闷",
        "心口疼",
        "心口痛",
        "心绞痛",
        "心梗",
        "心肌梗",
        "心脏病发",
        "心脏病犯",
        "心脏骤停",
        "chest pain",
        "chest pains",
        "chest hurts",
        "pain in my chest",
        "pain in his chest",
        "pain in her chest",
        "heart attack",
        "cardiac arrest",
    ),
    Sign.BREATHING: (
        "呼吸困难",
        "喘不过气",
        "喘不上气",
        "上不来气",
        "透不过气",
        "没有呼吸",
        "没呼吸",
        "不能呼吸",
        "噎住",
        "can't breathe",
        "cannot breathe",
        "can not breathe",
        "not breathing",
        "difficulty breathing",
        "trouble breathing",
        "short of breath",
        "shortness of breath",
        "choking",
    ),
    Sign.UNCONSCIOUS: (
        "晕倒",
        "昏倒",
        "晕过去",
        "昏过去",
        "昏迷",
        "不省人事",
        "叫不醒",
        "没有意识",
        "失去意识",
        "没反应了",
        "抽搐",
        "unconscious",
        "passed out",
        "fainted",
        "unresponsive",
        "won't wake up",
        "seizure",
    ),
    Sign.STROKE: (
        "中风",
        "脑梗",
        "脑溢血",
        "脑出血",
        "嘴歪",
        "stroke",
    ),
    Sign.BLEEDING: (
        "大出血",
        "流血不止",
        "血流不止",
        "出血不止",
        "流了很多血",
        "好多血",
        "吐血",
        "bleeding",
        "lot of blood",
        "lots of blood",
    ),
    Sign.POISONING: (
        "中毒",
        "误服",
        "吃错药",
        "喝了农药",
        "poisoned",
        "poisoning",
        "overdose",
    ),
    Sign.DROWNING: ("溺水", "落水", "掉进水里", "drowning", "drowned"),
    Sign.ELECTRIC_SHOCK: ("触电", "electric shock", "electrocuted"),
    Sign.FIRE: (
        "着火",
        "失火",
        "火灾",
        "起火",
        "冒烟",
        "烧起来",
        "fire",
        "on fire",
        "smoke",
    ),
    Sign.GAS: (
        "煤气泄漏",
        "燃气泄漏",
        "天然气泄漏",
        "煤气漏",
        "燃气漏",
        "煤气味",
        "燃气味",
        "天然气味",
        "一氧化碳",
        "煤气中毒",
        "gas leak",
        "gas leaking",
        "smell gas",
        "smell of gas",
        "gas smell",
        "carbon monoxide",
    ),
    Sign.VIOLENCE: (
        "抢劫",
        "打劫",
        "行凶",
        "杀人",
        "砍人",
        "持刀",
        "家暴",
        "绑架",
        "打人",
        "被打",
        "有人闯进",
        "入室抢劫",
        "入室盗窃",
        "robbery",
        "robbed",
        "assault",
        "assaulted",
        "attacked",
        "stabbed",
        "beating me",
        "hitting me",
        "domestic violence",
        "intruder",
        "break-in",
        "broke in",
        "kidnapped",
    ),
    Sign.SUICIDE: (
        "自杀",
        "轻生",
        "不想活",
        "活不下去",
        "想死",
        "寻死",
        "跳楼",
        "割腕",
        "寻短见",
        "suicide",
        "kill myself",
        "end my life",
        "want to die",
        "don't want to live",
        "self-harm",
    ),
    Sign.CRY_FOR_HELP: ("救命", "快来人", "sos", "emergency"),
}

# Phrases that contain a word of the list but are not an emergency; removed before matching.
NOT_EMERGENCY: tuple[str, ...] = (
    "火锅",
    "火灾隐患",
    "消防隐患",
    "防火灾",
    "火灾险",
    "嗓子冒烟",
    "喉咙冒烟",
    "落水管",
    "想死你",
    "想死我",
    "杀人游戏",
    "打人工",
    "被打扰",
    "预防火灾",
    "救命稻草",
    "中毒很深",
    "fire drill",
    "fire hazard",
    "fire safety",
    "fire extinguisher",
    "fire alarm test",
    "smoke detector",
    "smoke alarm battery",
    "stroke of luck",
    "not an emergency",
    "no emergency",
    "emergency contact",
)

SERVICES: dict[Sign, tuple[Service, ...]] = {
    Sign.FALL: (Service.AMBULANCE,),
    Sign.CHEST_PAIN: (Service.AMBULANCE,),
    Sign.BREATHING: (Service.AMBULANCE,),
    Sign.UNCONSCIOUS: (Service.AMBULANCE,),
    Sign.STROKE: (Service.AMBULANCE,),
    Sign.BLEEDING: (Service.AMBULANCE,),
    Sign.POISONING: (Service.AMBULANCE,),
    Sign.DROWNING: (Service.AMBULANCE, Service.POLICE),
    Sign.ELECTRIC_SHOCK: (Service.AMBULANCE,),
    Sign.FIRE: (Service.FIRE,),
    Sign.GAS: (Service.FIRE,),
    Sign.VIOLENCE: (Service.POLICE,),
    Sign.SUICIDE: (Service.POLICE, Service.AMBULANCE),
    Sign.CRY_FOR_HELP: (Service.AMBULANCE, Service.FIRE, Service.POLICE),
}
SERVICE_ORDER = (Service.AMBULANCE, Service.FIRE, Service.POLICE)


@dataclass(frozen=True, slots=True)
class Emergency:
    """What was recognised, and whom to call, most relevant number first."""

    signs: tuple[Sign, ...]
    services: tuple[Service, ...]


def _is_latin(word: str) -> bool:
    return word.isascii()


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so that "on fire" wins over "fire" (both are the same sign anyway).
    latin = sorted((w for w in words if _is_latin(w)), key=len, reverse=True)
    han = sorted((w for w in words if not _is_latin(w)), key=len, reverse=True)
    parts = [re.escape(w) for w in han]
    parts += [rf"(?<![a-z]){re.escape(w)}(?![a-z])" for w in latin]
    return re.compile("|".join(parts))


_PATTERNS = {sign: _pattern(words) for sign, words in WORDS.items()}
_NOT_EMERGENCY = re.compile("|".join(re.escape(p) for p in NOT_EMERGENCY))
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "＇": "'"})


def normalise(text: str) -> str:
    """Lower case, one kind of apostrophe, one space between words, harmless phrases removed."""
    lowered = " ".join(text.lower().translate(_APOSTROPHES).split())
    return _NOT_EMERGENCY.sub(" ", lowered)


def detect(text: str) -> Emergency | None:
    """The signs of an emergency in a text, or None."""
    cleaned = normalise(text)
    signs = tuple(sign for sign, pattern in _PATTERNS.items() if pattern.search(cleaned))
    if not signs:
        return None
    wanted = {service for sign in signs for service in SERVICES[sign]}
    return Emergency(signs, tuple(s for s in SERVICE_ORDER if s in wanted))


def looks_like_emergency(text: str) -> bool:
    return detect(text) is not None


_DUTY_PHONE = re.compile(r"^\+?[\d\s()-]+$")


def normalise_duty_phone(raw: str) -> str:
    """A community's duty phone as it will be shown: a mobile, a landline with its area code
    (023-6xxxxxxx), or a short service number; 3 to 20 digits, spaces and hyphens kept."""
    value = " ".join(raw.strip().split())
    digits = sum(ch.isdigit() for ch in value)
    if not _DUTY_PHONE.match(value) or not 3 <= digits <= 20:
        raise InvalidInput("duty_phone", "3 to 20 digits, spaces, hyphens")
    return value
