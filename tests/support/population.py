"""SYNTHETIC population with known truth, for evaluating the master patient index.

Everyone here is made up: names are drawn from short surname / given-name character lists,
resident IDs are generated (valid check characters, division codes of one province, sequence
numbers from a counter), phones use the non-existent mobile prefix ``100`` followed by a
household number, and addresses are on invented roads (``合成…路``). Institutions are ``syn001``…

Errors injected per record (rates in ``ErrorRates``): resident ID missing, name typos (mostly
homophones, as pinyin input methods make them; some any-character typos), day/month swaps and
one-field birth-date typos, missing sex, phone and address, and moves (a new address, division and
phone from some record on). Households share a phone and an address; twins share the birth date,
household and surname and differ in one given-name character.

``FIELD_RATES`` adds what clinics type at the front desk (issue 23; zero in the defaults, which keep
their random stream): a resident ID with one digit mistyped or two adjacent digits swapped (its check
fails), typed in full-width digits (``３５０５…``) or with a lower-case check ``x``, a phone in
full-width digits with spaces, and now and then a patient with no identifier and no birth date (the
only records the hub refuses).

    population = generate(persons=1000, seed=7)
    for record in population.records: ...   # in arrival order; record.truth is the person
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from pypinyin import Style, lazy_pinyin

from hub.mpi import PatientTraits
from hub.mpi.resident_id import make_resident_id

SYNTHETIC_MARK = "SYNTHETIC"
RESIDENT_ROOT = "2.16.156.10011.1.3"
OUTPATIENT_ROOT = "2.16.156.10011.1.11.syn"  # + institution

SURNAMES = ("王" * 8 + "李" * 8 + "张" * 7 + "刘" * 6 + "陈" * 5 + "杨" * 3 + "黄" * 2 + "赵" * 2 + "吴" * 2 + "周" * 2
            + "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬辉鹏飞斌宇浩凯健俊帆帅旭宁龙林"
         "欣怡梓涵子轩雨泽晨阳佳琪思远嘉豪博文一诺浩然若曦书瑶子墨雅静天佑铭心宏达建国国庆志强春梅秋菊冬梅海燕"
         "晓东晓明文杰振华金凤玉兰德胜永福庆丰利民卫东红兵向阳丹凤翠花淑珍桂芝素芳")
# extra characters: a pool in which homophone typos are found
HOMOPHONE_POOL = GIVEN + "维威薇卫为未位玮炜方芳坊放娜纳那秀绣袖英鹰莹敏民闽静敬境丽立力利强墙蔷军君均洋阳杨扬勇永涌艳燕雁颜杰洁捷婕娟涓鹃涛滔韬明鸣铭名"
ROADS = ("合成一路", "合成二路", "合成三路", "样例大道", "模拟街", "虚构巷", "测试东路", "测试西路")
DIVISIONS = ("330102", "330105", "330106", "330108", "330109", "330110", "330122", "330127")


@dataclass(frozen=True)
class ErrorRates:
    resident_id_missing: float = 0.30
    name_typo: float = 0.04
    name_typo_homophone_share: float = 0.75
    day_month_swap: float = 0.02
    birth_one_field: float = 0.01
    sex_missing: float = 0.05
    phone_missing: float = 0.20
    address_missing: float = 0.20
    move: float = 0.15          # share of persons who move (new address, division, phone) mid-history
    twins: float = 0.02         # share of households with twins
    records_min: int = 3
    records_max: int = 5
    resident_id_typo: float = 0.0        # one digit substituted (4 in 5) or two adjacent swapped
    resident_id_full_width: float = 0.0  # ３５０５…: an input method left in full-width mode
    resident_id_lower_x: float = 0.0     # of the IDs whose check character is X
    phone_full_width: float = 0.0        # full-width digits and spaces
    no_identity: float = 0.0             # no identifier and no birth date: refused by the hub


FIELD_RATES = ErrorRates(resident_id_typo=0.05, resident_id_full_width=0.05, resident_id_lower_x=0.5,
                         phone_full_width=0.03, no_identity=0.003)


@dataclass
class SyntheticPerson:
    truth: int
    surname: str
    name: str
    sex: str
    birth_date: date
    resident_id: str
    household: int
    phone: str
    division: str
    address: str


@dataclass(frozen=True)
class SyntheticRecord:
    truth: int
    institution: str
    traits: PatientTraits
    day: int  # arrival order key


@dataclass
class Population:
    persons: list[SyntheticPerson]
    records: list[SyntheticRecord]
    seed: int
    mark: str = SYNTHETIC_MARK
    stats: dict = field(default_factory=dict)


def _wide(text: str) -> str:
    """Full-width forms of ASCII digits and letters (spaces become ideographic spaces)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _pinyin(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


class _Generator:
    def __init__(self, seed: int, rates: ErrorRates, institutions: int):
        self.random = random.Random(seed)
        self.rates = rates
        self.institutions = [f"syn{i:03d}" for i in range(1, institutions + 1)]
        self.sequence = 0
        self.households = 0
        self.by_sound: dict[str, list[str]] = {}
        for ch in dict.fromkeys(HOMOPHONE_POOL):
            self.by_sound.setdefault(_pinyin(ch), []).append(ch)

    def surname(self) -> str:
        r = self.random
        return r.choice(COMPOUND_SURNAMES) if r.random() < 0.01 else r.choice(SURNAMES)

    def given(self) -> str:
        r = self.random
        return "".join(r.choice(GIVEN) for _ in range(1 if r.random() < 0.3 else 2))

    def birth(self, low: int = 1930, high: int = 2023) -> date:
        return date(low, 1, 1) + timedelta(days=self.random.randrange((date(high, 12, 31) - date(low, 1, 1)).days))

    def resident_id(self, division: str, born: date, sex: str) -> str:
        self.sequence += 1
        seq = (self.sequence % 499) * 2 + (1 if sex == "1" else 2)  # odd men, even women
        return make_resident_id(f"{division}{born:%Y%m%d}{seq:03d}")

    def home(self) -> tuple[str, str, str]:
        self.households += 1
        r = self.random
        phone = f"100{self.households:08d}"
        address = f"{r.choice(ROADS)}{r.randrange(1, 999)}号{r.randrange(1, 30)}栋{r.randrange(101, 2999)}室"
        return phone, r.choice(DIVISIONS), address

    def person(self, truth, *, surname, born, household, home, given=None) -> SyntheticPerson:
        sex = self.random.choice("12")
        phone, division, address = home
        return SyntheticPerson(truth, surname, surname + (given or self.given()), sex, born,
                               self.resident_id(division, born, sex), household, phone, division, address)

    def population(self, count: int) -> list[SyntheticPerson]:
        persons: list[SyntheticPerson] = []
        used_ids: set[str] = set()
        while len(persons) < count:
            home = self.home()
            surname = self.surname()
            size = self.random.choice((1, 1, 2, 2, 3, 4))
            members = []
            for _ in range(size):
                members.append(self.person(len(persons) + len(members) + 1, surname=surname if self.random.random() < 0.7
                                           else self.surname(), born=self.birth(), household=self.households, home=home))
            if self.random.random() < self.rates.twins:
                first = members[-1]
                members.append(self.person(first.truth + 1, surname=first.surname, born=first.birth_date,
                                           household=self.households, home=home,
                                           given=self._twin_given(first.name[len(first.surname):])))
            for member in members[: count - len(persons)]:
                if member.resident_id in used_ids:
                    continue
                used_ids.add(member.resident_id)
                member.truth = len(persons) + 1
                persons.append(member)
        return persons

    def _twin_given(self, given: str) -> str:
        while True:
            other = self.random.choice(GIVEN)
            if _pinyin(other) != _pinyin(given[-1]):
                return (given[:-1] + other) if len(given) > 1 else other

    def typo(self, name: str) -> str:
        r = self.random
        position = r.randrange(len(name))
        original = name[position]
        if r.random() < self.rates.name_typo_homophone_share:
            choices = [c for c in self.by_sound.get(_pinyin(original), ()) if c != original]
            if choices:
                return name[:position] + r.choice(choices) + name[position + 1:]
        return name[:position] + r.choice([c for c in GIVEN if c != original]) + name[position + 1:]

    def records(self, person: SyntheticPerson) -> list[SyntheticRecord]:
        r, rates = self.random, self.rates
        count = r.randint(rates.records_min, rates.records_max)
        days = sorted(r.randrange(3650) for _ in range(count))
        moved_at = r.randrange(1, count) if r.random() < rates.move else count
        new_home = self.home() if moved_at < count else None
        local = {}
        out = []
        for index, day in enumerate(days):
            institution = r.choice(self.institutions)
            local.setdefault(institution, f"{r.randrange(10**9):09d}")
            phone, division, address = new_home if index >= moved_at else (person.phone, person.division, person.address)
            name = self.typo(person.name) if r.random() < rates.name_typo else person.name
            born = person.birth_date
            if r.random() < rates.day_month_swap and born.day <= 12 and born.day != born.month:
                born = date(born.year, born.day, born.month)
            elif r.random() < rates.birth_one_field:
                born = self._one_field(born)
            identifiers = [("outpatient_no", f"{OUTPATIENT_ROOT}.{institution}", local[institution])]
            if r.random() >= rates.resident_id_missing:
                identifiers.insert(0, ("resident_id", RESIDENT_ROOT, self.typed_id(person.resident_id)))
            traits = PatientTraits(
                tuple(identifiers), name=name, sex=None if r.random() < rates.sex_missing else person.sex,
                birth_date=born, phone=None if r.random() < rates.phone_missing else phone, division=division,
                address=None if r.random() < rates.address_missing else address)
            if rates.phone_full_width and traits.phone and r.random() < rates.phone_full_width:
                traits = traits._replace(phone=_wide(f"{traits.phone[:3]} {traits.phone[3:7]} {traits.phone[7:]}"))
            if rates.no_identity and r.random() < rates.no_identity:
                traits = traits._replace(identifiers=(), birth_date=None)
            out.append(SyntheticRecord(person.truth, institution, traits, day))
        return out

    def typed_id(self, value: str) -> str:
        """The resident ID as typed: right, or (``FIELD_RATES``) mistyped, full-width, lower-case x."""
        r, rates = self.random, self.rates
        if rates.resident_id_typo and r.random() < rates.resident_id_typo:
            position = r.randrange(17)
            if r.random() < 0.8:
                value = value[:position] + r.choice([d for d in "0123456789" if d != value[position]]) + value[position + 1:]
            elif value[position] != value[position + 1]:
                value = value[:position] + value[position + 1] + value[position] + value[position + 2:]
        if rates.resident_id_lower_x and value.endswith("X") and r.random() < rates.resident_id_lower_x:
            value = value[:-1] + "x"
        if rates.resident_id_full_width and r.random() < rates.resident_id_full_width:
            value = _wide(value)
        return value

    def _one_field(self, born: date) -> date:
        for _ in range(10):
            field_ = self.random.choice(("year", "month", "day"))
            try:
                if field_ == "year":
                    return born.replace(year=born.year + self.random.choice((-10, -1, 1, 10)))
                if field_ == "month":
                    return born.replace(month=self.random.randint(1, 12))
                return born.replace(day=self.random.randint(1, 28))
            except ValueError:
                continue
        return born


def generate(persons: int = 20_000, *, seed: int = 20240611, rates: ErrorRates = ErrorRates(),
             institutions: int = 30) -> Population:
    """A synthetic population and its records in arrival order (deterministic for a seed)."""
    generator = _Generator(seed, rates, institutions)
    people = generator.population(persons)
    records = [record for person in people for record in generator.records(person)]
    records.sort(key=lambda rec: (rec.day, rec.truth))
    return Population(people, records, seed, stats={"persons": len(people), "records": len(records),
                                                    "households": generator.households})


__all__ = ["SYNTHETIC_MARK", "ErrorRates", "FIELD_RATES", "SyntheticPerson", "SyntheticRecord", "Population", "generate"]
