"""Plate rules (parking/plate_rules.py): GA 36 for Chinese districts, a permissive rule for
others, and new-energy plates as the tariff's `electric` class."""

from __future__ import annotations

import pytest

from parking.plate_rules import (
    PLATE_RULES,
    PROVINCES,
    accept_plate,
    accept_plate_under_any,
    plate_rule,
    vehicle_class_for_plate,
)
from parking.plates import InvalidPlateError

GA36 = PLATE_RULES["cn_ga36"]

# Valid plates after normalisation, with the kind GA 36 gives them (examples of the standard's
# appendices and of the plates wardens meet).
VALID = [
    ("贵A12345", "ordinary"),
    ("贵AP0001", "ordinary"),
    ("贵A0000Z", "ordinary"),
    ("贵B67890", "ordinary"),
    ("贵H88888", "ordinary"),
    ("贵JA1B23", "ordinary"),
    ("京A12345", "ordinary"),
    ("京N8P8F8", "ordinary"),
    ("津C12345", "ordinary"),
    ("沪AAB123", "ordinary"),
    ("渝A12345", "ordinary"),
    ("冀B12345", "ordinary"),
    ("豫A3W567", "ordinary"),
    ("云A12345", "ordinary"),
    ("辽B12345", "ordinary"),
    ("黑A12345", "ordinary"),
    ("湘A12345", "ordinary"),
    ("皖A12345", "ordinary"),
    ("鲁B12345", "ordinary"),
    ("新A12345", "ordinary"),
    ("苏E12345", "ordinary"),
    ("浙A12345", "ordinary"),
    ("赣A12345", "ordinary"),
    ("鄂A12345", "ordinary"),
    ("桂A12345", "ordinary"),
    ("甘A12345", "ordinary"),
    ("晋A12345", "ordinary"),
    ("蒙A12345", "ordinary"),
    ("陕A12345", "ordinary"),
    ("吉A12345", "ordinary"),
    ("闽D12345", "ordinary"),
    ("粤BD1234", "ordinary"),
    ("青A12345", "ordinary"),
    ("藏A12345", "ordinary"),
    ("川A12345", "ordinary"),
    ("宁A12345", "ordinary"),
    ("琼A12345", "ordinary"),
    ("贵AD12345", "new_energy_small"),
    ("贵AD00001", "new_energy_small"),
    ("粤BF12345", "new_energy_small"),
    ("京ADA1234", "new_energy_small"),
    ("沪AF1234", "ordinary"),
    ("京A12345D", "new_energy_large"),
    ("粤B12345F", "new_energy_large"),
    ("贵A1234警", "police"),
    ("京A0001警", "police"),
    ("贵A1234学", "coach"),
    ("沪A123B学", "coach"),
    ("贵A1234挂", "trailer"),
    ("鲁B12A4挂", "trailer"),
    ("沪A0001领", "consulate"),
    ("粤Z1234港", "hong_kong_macao"),
    ("粤ZA123澳", "hong_kong_macao"),
    ("使014578", "embassy"),
    ("使224001", "embassy"),
    ("VA12345", "military"),
    ("KA00001", "military"),
    ("HB12345", "military"),
]

# Refused plates, each with a word of the rule its description must name.
INVALID = [
    ("AB", "province"),
    ("12", "province"),
    ("中华人民共和国", "province"),
    ("A12345", "province"),
    ("港A12345", "province"),
    ("台A12345", "province"),
    ("12345贵A", "province"),
    ("使12345", "embassy"),
    ("使1234567", "embassy"),
    ("使A12345", "embassy"),
    ("贵", "authority"),
    ("贵112345", "authority"),
    ("贵I12345", "authority"),
    ("贵O12345", "authority"),
    ("贵贵12345", "authority"),
    ("贵A", "five"),
    ("贵A1234", "five"),
    ("贵A123", "five"),
    ("贵A1234567", "five"),
    ("贵AI2345", "I and O"),
    ("贵A1O345", "I and O"),
    ("贵A1234O", "I and O"),
    ("贵AO0001", "I and O"),
    ("贵AD1234I", "I and O"),
    ("贵A123456", "six"),
    ("贵AA12345", "six"),
    ("贵AD1234A", "six"),
    ("贵ADA123B", "six"),
    ("贵A1234DD", "six"),
    ("京A1234EF", "six"),
    ("贵A12345警", "before 警"),
    ("贵A123警", "before 警"),
    ("贵A12345学", "before 学"),
    ("贵A123挂", "before 挂"),
    ("沪A00001领", "before 领"),
    ("贵A1234港", "before 港"),
    ("京A1234澳", "before 澳"),
    ("贵A12学45", "letters and digits"),
    ("贵A12贵45", "letters and digits"),
    ("VA1234", "province"),
    ("AA12345", "province"),
    ("VA123456", "province"),
]


@pytest.mark.parametrize(("plate", "kind"), VALID)
def test_ga36_accepts_the_plates_of_the_standard_as_their_kind(plate: str, kind: str) -> None:
    assert GA36.kind_of(plate).kind == kind


@pytest.mark.parametrize(("plate", "rule"), INVALID)
def test_ga36_refuses_a_plate_and_names_the_rule_it_breaks(plate: str, rule: str) -> None:
    with pytest.raises(InvalidPlateError) as raised:
        GA36.check(plate)

    assert raised.value.code == "invalid_plate"
    assert raised.value.details == ["vehicle_license_plate"]
    assert "GA 36" in raised.value.message
    assert rule in raised.value.message


def test_the_examples_are_at_least_forty_of_each() -> None:
    assert len({p for p, _ in VALID}) >= 40 and len({p for p, _ in INVALID}) >= 40


def test_every_province_abbreviation_has_a_plate() -> None:
    assert len(PROVINCES) == 31
    for province in PROVINCES:
        assert GA36.check(f"{province}A12345")


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("贵Ａ１２３４５", "贵A12345"),
        ("贵ａ１２３４５", "贵A12345"),
        ("贵Ａ　１２３４５", "贵A12345"),
        ("贵a·12345", "贵A12345"),
        (" 贵 a 1 2 3 4 5 ", "贵A12345"),
        ("贵ＡＤ１２３４５", "贵AD12345"),
        ("粤ｚ１２３４港", "粤Z1234港"),
    ],
)
def test_full_width_lower_case_and_spaced_input_is_normalised_before_the_check(raw: str, plate: str) -> None:
    assert accept_plate("cn_ga36", raw) == plate


@pytest.mark.parametrize("raw", ["AB", "12", "中华人民共和国", "贵Ａ１２３４", "ｏ12345"])
def test_what_still_fails_after_normalising_is_refused_as_invalid_plate(raw: str) -> None:
    with pytest.raises(InvalidPlateError):
        accept_plate("cn_ga36", raw)


@pytest.mark.parametrize(
    ("raw", "plate"),
    [("AB", "AB"), ("12", "12"), ("1ABC234", "1ABC234"), ("abc 123", "ABC123"), ("ＡＢＣ１２３", "ABC123")],
)
def test_the_alphanumeric_rule_keeps_accepting_plates_of_two_to_twelve_characters(
    raw: str, plate: str
) -> None:
    assert accept_plate("alphanumeric", raw) == plate


def test_new_energy_plates_are_the_electric_class_under_ga36_only() -> None:
    assert vehicle_class_for_plate("贵AD12345", "cn_ga36") == "electric"
    assert vehicle_class_for_plate("京A12345D", "cn_ga36") == "electric"
    assert vehicle_class_for_plate("贵A12345", "cn_ga36") is None
    assert vehicle_class_for_plate("贵A1234学", "cn_ga36") is None
    assert vehicle_class_for_plate("贵AD12345", "alphanumeric") is None
    assert vehicle_class_for_plate(None, "cn_ga36") is None


def test_a_plate_any_district_accepts_may_be_linked() -> None:
    assert accept_plate_under_any(["cn_ga36", "alphanumeric"], "abc123") == "ABC123"
    assert accept_plate_under_any(["cn_ga36"], "贵Ａ１２３４５") == "贵A12345"
    with pytest.raises(InvalidPlateError, match="GA 36"):
        accept_plate_under_any(["cn_ga36"], "AB")


def test_an_unknown_rule_name_says_which_rules_there_are() -> None:
    with pytest.raises(KeyError, match="alphanumeric, cn_ga36"):
        plate_rule("uk_dvla")
