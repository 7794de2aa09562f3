"""The region's residents (SYNTHETIC) and how clinics type them.

Everyone is made up, after tests/support/population.py: names drawn from short character lists,
resident IDs generated (valid GB 11643 check character, division of the home district, sequence
from a counter), phones with the non-existent mobile prefix ``100`` and a household number,
addresses on invented ``合成…`` roads. Households (one person, couples, parents with children,
three generations) share district, address and phone; children carry the household's surname, a
wife keeps her own. Ages are as of the end of the generated year, so the babies born that year are
the year's live births (about 0.7 % of residents; 0-14 about 11 %, 65+ about 16 %).

A record is a person as one member types them (``typed``): about a quarter without the resident ID,
homophone name typos, day/month swaps, missing sex, phone or address.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from hub.mpi.resident_id import make_resident_id

from .model import AGE_BANDS, DISTRICT_SHARES

SYNTHETIC_MARK = "SYNTHETIC"
SURNAMES = ("王" * 8 + "李" * 8 + "张" * 7 + "刘" * 6 + "陈" * 5 + "杨" * 3 + "黄" * 2 + "赵" * 2 + "吴" * 2 + "周" * 2
            + "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬辉鹏飞斌宇浩凯健俊帆帅旭宁龙林"
         "欣怡梓涵子轩雨泽晨阳佳琪思远嘉豪博文一诺然若曦书瑶墨雅天佑铭心宏达建国庆志春梅秋菊冬海")
HOMOPHONE_POOL = GIVEN + "维威薇卫为未位玮炜方坊放纳那绣袖鹰莹民闽敬境立力利墙蔷君均杨扬永涌燕雁颜洁捷婕涓鹃滔韬鸣名"
ROADS = ("合成一路", "合成二路", "合成三路", "合成大道", "合成街", "合成巷", "合成东路", "合成西路")


@dataclass(frozen=True)
class ErrorRates:
    """How often a member's record differs from the person (tests/support/population.py's model)."""

    resident_id_missing: float = 0.25
    name_typo: float = 0.03
    day_month_swap: float = 0.015
    sex_missing: float = 0.04
    phone_missing: float = 0.15
    address_missing: float = 0.15


@dataclass(frozen=True)
class Person:
    id: str           # P000001…: the truth's person id
    name: str
    sex: str          # GB/T 2261.1: 1 male, 2 female
    birth_date: date
    resident_id: str
    household: int
    phone: str
    division: str
    address: str

    def age_at(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


@dataclass(frozen=True)
class Typed:
    """One record of a person as a member typed it."""

    resident_id: str | None
    name: str
    sex: str | None
    birth_date: date
    phone: str | None
    address: str | None
    division: str


def age_band(age: int) -> str:
    return [label for lower, label in AGE_BANDS if age >= lower][-1]


# household kinds and their shares: (kind, weight)
HOUSEHOLD_KINDS = (("single", 16), ("couple", 24), ("family", 42), ("three_generations", 18))


def _ages(rng: random.Random) -> list[tuple[int, str | None, bool]]:
    """Ages (whole years at the year's end) of one household's members, each with the sex a couple
    needs (None: either) and whether the member carries the household's surname."""
    kind = rng.choices([k for k, _ in HOUSEHOLD_KINDS], weights=[w for _, w in HOUSEHOLD_KINDS])[0]
    if kind == "single":
        return [(int(rng.triangular(18, 95, 72)), None, True)]
    if kind == "couple":
        age = int(rng.triangular(22, 92, 62))
        return [(age, "1", True), (max(20, age + rng.randint(-5, 2)), "2", False)]
    if kind == "family":  # parents and their children (grown-up children often still at home)
        parent = rng.randint(24, 60)
        children = [parent - rng.randint(24, 36) for _ in range(rng.choices((1, 2), weights=(7, 3))[0])]
        return [(parent, "1", True), (max(20, parent + rng.randint(-5, 2)), "2", False),
                *((age, None, True) for age in children if age >= 0)]
    grandparent = rng.randint(56, 92)
    parent = grandparent - rng.randint(24, 32)
    grandparents = [(grandparent, "1", True), (grandparent + rng.randint(-5, 2), "2", False)][:rng.randint(1, 2)]
    child = parent - rng.randint(24, 34)
    return [*grandparents, (parent, "1", True), (max(20, parent + rng.randint(-5, 2)), "2", False),
            *([(child, None, True)] if child >= 0 else [])]


def generate_people(*, count: int, seed: int, year: int) -> list[Person]:
    """``count`` residents living in the region at the end of ``year`` (deterministic for ``seed``):
    households of one, couples, parents with children, three generations under one roof."""
    rng = random.Random(f"{seed}:people")
    districts, shares = list(DISTRICT_SHARES), list(DISTRICT_SHARES.values())
    people: list[Person] = []
    used: set[str] = set()
    household = 0
    while len(people) < count:
        household += 1
        division = rng.choices(districts, weights=shares)[0]
        phone = f"100{household:08d}"
        address = f"{rng.choice(ROADS)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2999)}室"
        surname = rng.choice(SURNAMES)
        for age, sex, shares_surname in _ages(rng)[:count - len(people)]:
            sex = sex or rng.choice("12")
            born = date(year - age, 1, 1) + timedelta(days=rng.randrange(365))
            own = surname if shares_surname else rng.choice(SURNAMES)
            given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
            while True:
                sequence = rng.randrange(500) * 2 + (1 if sex == "1" else 2)
                resident_id = make_resident_id(f"{division}{born:%Y%m%d}{sequence % 1000:03d}")
                if resident_id not in used:
                    break
            used.add(resident_id)
            people.append(Person(f"P{len(people) + 1:06d}", own + given, sex, born, resident_id, household,
                                 phone, division, address))
    return people


@lru_cache(maxsize=None)
def _homophones() -> dict[str, tuple[str, ...]]:
    by_sound: dict[str, list[str]] = {}
    for ch in dict.fromkeys(HOMOPHONE_POOL):
        by_sound.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    return {ch: tuple(c for c in by_sound[lazy_pinyin(ch, style=Style.NORMAL)[0]] if c != ch)
            for ch in dict.fromkeys(HOMOPHONE_POOL)}


def _typo(rng: random.Random, name: str) -> str:
    position = rng.randrange(1, len(name)) if len(name) > 1 else 0  # clinics rarely mistype the surname
    choices = _homophones().get(name[position]) or tuple(c for c in GIVEN if c != name[position])
    return name[:position] + rng.choice(choices) + name[position + 1:]


def typed(person: Person, rng: random.Random, rates: ErrorRates = ErrorRates()) -> Typed:
    """``person`` as a member types them on one record (variants drawn from ``rng``)."""
    born = person.birth_date
    if rng.random() < rates.day_month_swap and born.day <= 12 and born.day != born.month:
        born = date(born.year, born.day, born.month)
    return Typed(
        resident_id=None if rng.random() < rates.resident_id_missing else person.resident_id,
        name=_typo(rng, person.name) if rng.random() < rates.name_typo else person.name,
        sex=None if rng.random() < rates.sex_missing else person.sex,
        birth_date=born,
        phone=None if rng.random() < rates.phone_missing else person.phone,
        address=None if rng.random() < rates.address_missing else person.address,
        division=person.division)


PEOPLE_COLUMNS = ("person_id", "name", "sex", "birth_date", "resident_id", "household", "phone", "division",
                  "address", "mark")


def people_rows(people: list[Person]):
    for p in people:
        yield (p.id, p.name, p.sex, p.birth_date.isoformat(), p.resident_id, p.household, p.phone, p.division,
               p.address, SYNTHETIC_MARK)


__all__ = ["SYNTHETIC_MARK", "ErrorRates", "Person", "Typed", "age_band", "generate_people", "typed",
           "PEOPLE_COLUMNS", "people_rows"]
