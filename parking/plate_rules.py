"""Plate rules, one per district (`District.plate_rule`): which normalised plates a district
accepts, and which of them are new-energy vehicles (the tariff's `electric` class).

`cn_ga36` is the Chinese motor-vehicle plate standard, GA 36-2018 (see docs/PLATES.md);
`alphanumeric` is the permissive rule of districts elsewhere (Melbourne): 2 to 12 letters,
digits or CJK ideographs, as `normalise_plate` already checks. Pure: stdlib only."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from parking.errors import N_, Message
from parking.plates import InvalidPlateError, normalise_plate

# The 31 province-level abbreviations of the mainland issuing authorities.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # I and O are never used: they read as 1 and 0
_SERIAL = f"[{_LETTER}0-9]"
_PROVINCE = f"[{PROVINCES}]"
# First letters of the armed forces' plates (two letters and five digits; their own
# standard, not GA 36, but a district's wardens meet them).
_MILITARY_FIRST = "BCEGHJKLNSVZ"


@dataclass(frozen=True)
class PlateFormat:
    """One kind of plate of a rule: its pattern over the normalised plate."""

    kind: str
    pattern: re.Pattern[str]
    new_energy: bool = False


def _format(kind: str, pattern: str, new_energy: bool = False) -> PlateFormat:
    return PlateFormat(kind, re.compile(pattern), new_energy)


GA36_FORMATS = (
    _format("ordinary", f"{_PROVINCE}[{_LETTER}]{_SERIAL}{{5}}"),
    # Small new-energy: D (battery) or F (other), a letter or digit, four digits.
    _format("new_energy_small", f"{_PROVINCE}[{_LETTER}][DF]{_SERIAL}[0-9]{{4}}", new_energy=True),
    # Large new-energy: five digits, then D or F.
    _format("new_energy_large", f"{_PROVINCE}[{_LETTER}][0-9]{{5}}[DF]", new_energy=True),
    _format("police", f"{_PROVINCE}[{_LETTER}]{_SERIAL}{{4}}警"),
    _format("coach", f"{_PROVINCE}[{_LETTER}]{_SERIAL}{{4}}学"),
    _format("trailer", f"{_PROVINCE}[{_LETTER}]{_SERIAL}{{4}}挂"),
    _format("consulate", f"{_PROVINCE}[{_LETTER}]{_SERIAL}{{4}}领"),
    # Cross-border vehicles of Hong Kong and Macao, registered by Guangdong as 粤Z.
    _format("hong_kong_macao", f"粤Z{_SERIAL}{{4}}[港澳]"),
    # Embassy: 使, the mission's three-digit number, a three-digit serial.
    _format("embassy", "使[0-9]{6}"),
    _format("military", f"[{_MILITARY_FIRST}][{_LETTER}][0-9]{{5}}"),
)
_SUFFIXES = "警学挂领港澳"


def _ga36_problem(plate: str) -> Message:
    """Which GA 36 rule a plate that matches no format breaks first, in words."""
    head, rest = plate[:1], plate[2:]
    if head == "使":
        return Message(N_("an embassy plate is 使 and six digits (the mission's number, then the serial)"))
    if head not in PROVINCES:
        return Message(
            N_(
                "a plate starts with a province abbreviation (%(provinces)s…), 使 for an embassy "
                "or a military unit code; '%(head)s' is none"
            ),
            {"provinces": PROVINCES[:6], "head": head},
        )
    if len(plate) < 2 or not re.fullmatch(f"[{_LETTER}]", plate[1]):
        return Message(N_("the second character is the issuing authority's letter, A to Z without I and O"))
    if "I" in rest or "O" in rest:
        return Message(N_("the letters I and O are never used on a plate"))
    if rest and rest[-1] in "港澳":
        return Message(
            N_("a %(kind)s plate is 粤Z, then four letters or digits before %(kind)s"), {"kind": rest[-1]}
        )
    if rest and rest[-1] in _SUFFIXES:
        return Message(N_("a %(kind)s plate has four letters or digits before %(kind)s"), {"kind": rest[-1]})
    if len(rest) == 6:
        return Message(
            N_(
                "a six-character (new-energy) serial is D or F, a letter or digit and four digits, "
                "or five digits then D or F"
            )
        )
    if not re.fullmatch(f"{_SERIAL}*", rest):
        return Message(
            N_("after the authority letter come only letters and digits (or one special character)")
        )
    return Message(
        N_(
            "an ordinary plate has five letters or digits after the authority letter, a new-energy "
            "plate six; this one has %(count)d"
        ),
        {"count": len(rest)},
    )


@dataclass(frozen=True)
class PlateRule:
    """A district's plate rule: its name, its formats, and the words that explain a refusal."""

    name: str
    title: str
    formats: tuple[PlateFormat, ...]

    def kind_of_or_none(self, plate: str) -> PlateFormat | None:
        """The format a normalised plate matches, None if none."""
        return next((f for f in self.formats if f.pattern.fullmatch(plate)), None)

    def kind_of(self, plate: str) -> PlateFormat:
        """The format a normalised plate matches; InvalidPlateError naming the rule if none."""
        found = self.kind_of_or_none(plate)
        if found is not None:
            return found
        problem = _ga36_problem(plate) if self.name == "cn_ga36" else Message(N_("2 to 12 letters or digits"))
        message = Message(
            N_("'%(plate)s' is not a plate under %(rule)s: %(problem)s"),
            {"plate": plate, "rule": Message(self.title), "problem": problem},
        )
        raise InvalidPlateError(message, ["vehicle_license_plate"])

    def check(self, plate: str) -> str:
        """The plate itself when this rule accepts it."""
        self.kind_of(plate)
        return plate

    def is_new_energy(self, plate: str) -> bool:
        """A new-energy (green) plate; False for a plate the rule refuses."""
        return any(f.new_energy and f.pattern.fullmatch(plate) for f in self.formats)


PLATE_RULES = {
    "cn_ga36": PlateRule("cn_ga36", N_("GA 36 (Chinese motor-vehicle plates)"), GA36_FORMATS),
    "alphanumeric": PlateRule(
        "alphanumeric",
        N_("the alphanumeric rule"),
        (_format("ordinary", r"[0-9A-Z\u4e00-\u9fff]{2,12}"),),
    ),
}
DEFAULT_PLATE_RULE = "alphanumeric"


def plate_rule(name: str) -> PlateRule:
    """The rule of this name; KeyError names the known ones."""
    try:
        return PLATE_RULES[name]
    except KeyError:
        raise KeyError(f"no plate rule {name!r}; known: {', '.join(sorted(PLATE_RULES))}") from None


def accept_plate(rule_name: str, raw: str) -> str:
    """`raw` in normal form when the district's rule accepts it; InvalidPlateError naming the
    broken rule otherwise."""
    return plate_rule(rule_name).check(normalise_plate(raw))


def vehicle_class_for_plate(plate: str | None, rule_name: str) -> str | None:
    """The tariff's vehicle class of a stay's plate: `electric` for new-energy plates."""
    if plate and plate_rule(rule_name).is_new_energy(plate):
        return "electric"
    return None


def accept_plate_under_any(rule_names: Iterable[str], raw: str) -> str:
    """`raw` in normal form when one of these rules accepts it (a driver's plate may park in
    any district); the first rule's refusal otherwise."""
    plate = normalise_plate(raw)
    refusals = []
    for name in sorted(set(rule_names)) or [DEFAULT_PLATE_RULE]:
        try:
            return plate_rule(name).check(plate)
        except InvalidPlateError as error:
            refusals.append(error)
    raise refusals[-1]
