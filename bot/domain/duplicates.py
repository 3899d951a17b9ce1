"""Is a new request the same as one already open ("me too")? Pure rules, no I/O.

Words alone fail across languages: an English report of the broken corridor light a Chinese
neighbour already reported shares no character with it. So a request is compared by
* its meaning: words and Chinese character pairs, and the concepts of a small reviewed
  bilingual lexicon (灯 = light, 坏 = broken…), which match across zh and en;
* its category;
* its place: the same building (from the address), the same grid, a location within a
  short distance — and another building, or a location far away, rules it out (the broken
  lift of building 5 is not the one of building 7);
* its time: a request filed in the last days is likelier the same one.
Some shared meaning (or the very same spot in the same category) is needed: two requests of
one building and one week are not the same because of that alone."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.needs import NeedCategory, grams, jaccard, similarity

# concept: (Chinese terms, found as substrings; English words, found as whole words or
# their plural). Reviewed for residents' everyday requests; extend with care.
LEXICON: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "light": (("灯", "照明"), ("light", "lamp", "bulb", "lighting")),
    "broken": (
        ("坏", "不亮", "不能用", "失灵", "故障", "损坏", "不工作", "不好使"),
        ("broken", "broke", "break", "out", "faulty", "fault", "dead", "failed", "damaged"),
    ),
    "corridor": (
        ("楼道", "走廊", "楼梯", "过道", "梯间"),
        ("corridor", "hallway", "hall", "stair", "stairs", "stairway", "stairwell", "staircase"),
    ),
    "lift": (("电梯",), ("lift", "elevator")),
    "water": (("水",), ("water",)),
    "leak": (("漏", "渗"), ("leak", "leaking", "leaks", "drip", "dripping", "seep")),
    "pipe": (("水管", "管道", "下水道", "堵"), ("pipe", "pipes", "drain", "sewer", "blocked")),
    "power": (("停电", "断电", "电路", "电线", "插座"), ("power", "electricity", "socket")),
    "door": (("门", "锁"), ("door", "lock", "gate")),
    "window": (("窗",), ("window",)),
    "roof": (("屋顶", "房顶", "天花板"), ("roof", "ceiling")),
    "rubbish": (("垃圾",), ("rubbish", "garbage", "trash", "waste", "litter")),
    "noise": (("噪音", "吵", "扰民"), ("noise", "noisy", "loud")),
    "smell": (("臭", "异味", "气味"), ("smell", "smells", "stink", "odour", "odor")),
    "parking": (("停车", "车位"), ("parking", "car", "cars")),
    "road": (("路面", "道路", "坑"), ("road", "pavement", "pothole", "street")),
    "tree": (("树",), ("tree", "trees", "branch")),
    "dog": (("狗", "犬"), ("dog", "dogs")),
    "meal": (("助餐", "吃饭", "送餐", "做饭", "饭菜"), ("meal", "meals", "food", "lunch", "cook")),
    "medicine": (("药", "看病", "就医", "医院"), ("medicine", "doctor", "hospital", "clinic")),
    "elderly": (("老人", "老年", "独居", "长者"), ("elderly", "old", "senior", "aged")),
    "child": (("孩子", "儿童", "小孩", "学生"), ("child", "children", "kid", "kids", "pupil")),
    "night": (("晚上", "夜里", "夜间"), ("night", "dark", "evening")),
    "clean": (("打扫", "清洁", "卫生"), ("clean", "cleaning", "dirty")),
    "repair": (("维修", "修理", "修"), ("repair", "fix", "mend")),
    "heating": (("暖气", "空调"), ("heating", "heater", "radiator")),
    "gas": (("燃气", "天然气", "煤气"), ("gas",)),
}
# Chinese terms longest first, so 水管 is read before 水.
_ZH_TERMS = sorted(
    ((term, concept) for concept, (zh, _en) in LEXICON.items() for term in zh),
    key=lambda pair: -len(pair[0]),
)
_EN_WORDS = {word: concept for concept, (_zh, en) in LEXICON.items() for word in en}
_LATIN = re.compile(r"[a-z]+")

NEAR_METRES = 150
FAR_METRES = 1000
RECENT = timedelta(days=3)
THIS_MONTH = timedelta(days=30)
THRESHOLD = 0.35
MIN_MEANING = 0.12


def concepts(text: str) -> frozenset[str]:
    lowered = text.lower()
    found: set[str] = set()
    rest = lowered
    for term, concept in _ZH_TERMS:
        if term in rest:
            found.add(concept)
            rest = rest.replace(term, " ")
    for word in _LATIN.findall(lowered):
        concept = _EN_WORDS.get(word) or _EN_WORDS.get(word.removesuffix("s"), "")
        if concept:
            found.add(concept)
    return frozenset(found)


def meaning(a: str, b: str) -> float:
    """0..1: the better of shared words/character pairs and shared concepts."""
    return _meaning(concepts(a), concepts(b), min(1.0, 2 * similarity(a, b)))


def _meaning(ca: frozenset[str], cb: frozenset[str], by_words: float) -> float:
    by_concept = len(ca & cb) / len(ca | cb) if ca and cb else 0.0
    return max(by_words, by_concept)


def distance_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), enough within a city."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


@dataclass(frozen=True, slots=True)
class Report:
    """What is compared of a request (the new one, or one already open)."""

    category: NeedCategory
    description: str
    created_at: datetime
    grid_id: int | None = None
    # The building of the request's own address (where someone should come)...
    building: str | None = None
    location: tuple[float, float] | None = None
    # ...and of the resident's home address: it brings them closer, never rules one out
    # (neighbours of two buildings may report the same street light).
    home_building: str | None = None
    # The description's concepts and words, read once: a new request is compared with up to
    # two hundred open ones, and reading its own text each time was half the work.
    concepts: frozenset[str] = field(init=False, repr=False, compare=False)
    grams: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        read = _read(self.description)
        object.__setattr__(self, "concepts", read[0])
        object.__setattr__(self, "grams", read[1])


# The open requests of a community are compared again at every filing there, so what each
# text is compared by is kept per process for the most recent texts. Nothing readable is kept:
# the text only as a keyed digest, its character pairs as salted hashes (this process's
# `hash`), next to concept names of the lexicon. An erased person's words are not in here.
READ_KEPT = 2048
_read_texts: OrderedDict[bytes, tuple[frozenset[str], frozenset[int]]] = OrderedDict()
_DIGEST_KEY = secrets.token_bytes(16)


def _read(description: str) -> tuple[frozenset[str], frozenset[int]]:
    key = hashlib.blake2b(description.encode(), digest_size=16, key=_DIGEST_KEY).digest()
    found = _read_texts.get(key)
    if found is not None:
        _read_texts.move_to_end(key)
        return found
    found = concepts(description), frozenset(hash(gram) for gram in grams(description))
    _read_texts[key] = found
    if len(_read_texts) > READ_KEPT:
        _read_texts.popitem(last=False)
    return found


def likeness(new: Report, old: Report) -> float:
    """How likely `old` is the request `new` describes; 0 when it clearly is not."""
    words = _meaning(new.concepts, old.concepts, min(1.0, 2 * jaccard(new.grams, old.grams)))
    same_category = new.category is old.category
    distance = (
        distance_metres(new.location, old.location)
        if new.location is not None and old.location is not None
        else None
    )
    same_spot = distance is not None and distance <= NEAR_METRES
    if distance is not None and distance > FAR_METRES:
        return 0.0
    if new.building is not None and old.building is not None and new.building != old.building:
        return 0.0
    if words < MIN_MEANING and not (same_spot and same_category):
        return 0.0
    score = words
    if same_category:
        score += 0.15
    if same_spot:
        score += 0.2
    buildings = {new.building or new.home_building} & {old.building or old.home_building}
    if buildings - {None}:
        score += 0.15
    elif new.grid_id is not None and new.grid_id == old.grid_id:
        score += 0.05
    age = new.created_at - old.created_at
    if age <= RECENT:
        score += 0.1
    elif age <= THIS_MONTH:
        score += 0.05
    return max(0.0, score)


def is_alike(score: float) -> bool:
    return score >= THRESHOLD
