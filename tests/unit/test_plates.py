"""Licence plates (parking/plates.py): one normal form, how far a read is trusted, and the\nkeyed hash plates are looked up by."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from parking.errors import InvalidInputError
from parking.plates import (
    DEVELOPMENT_PLATE_HASH_KEY,
    IN_PERSON_SCORE,
    UNRATED_READ_SCORE,
    InvalidPlateError,
    normalise_plate,
    plate_key,
    plate_key_or_none,
    plate_score,
    use_plate_hash_key,
)


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("ABC123", "ABC123"),
        ("abc123", "ABC123"),
        ("AbC 123", "ABC123"),
        ("  ABC 123  ", "ABC123"),
        ("ABC\t123", "ABC123"),
        ("ABC-123", "ABC123"),
        ("1-ABC-234", "1ABC234"),
        ("AB.12.CD", "AB12CD"),
        ("AB•123", "AB123"),
        ("贵A12345", "贵A12345"),
        ("贵a12345", "贵A12345"),
        ("贵A·12345", "贵A12345"),
        ("粤B·D1234", "粤BD1234"),
        ("京A 12345", "京A12345"),
        ("沪A-1234学", "沪A1234学"),
        ("ＡＢＣ123", "ABC123"),
        ("贵Ａ１２３４５", "贵A12345"),
        ("贵Ａ　１２３４５", "贵A12345"),
        ("贵A・12345", "贵A12345"),
    ],
)
def test_a_plate_is_nfkc_normalised_upper_cased_and_loses_its_separators(raw: str, plate: str) -> None:
    assert normalise_plate(raw) == plate


@pytest.mark.parametrize("plate", ["AB", "12", "ABCDEF123456", "贵A"])
def test_plates_of_two_and_of_twelve_characters_are_accepted(plate: str) -> None:
    assert normalise_plate(plate) == plate


def test_a_normal_plate_normalises_to_itself() -> None:
    assert normalise_plate(normalise_plate("贵a·123-45")) == "贵A12345"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("-·-", id="only-separators"),
        pytest.param("A", id="one-character"),
        pytest.param("A-", id="one-character-after-normalising"),
        pytest.param("ABCDEF1234567", id="thirteen-characters"),
        pytest.param("ABC DEF 123 4567", id="thirteen-characters-after-normalising"),
        pytest.param("ABC#123", id="hash"),
        pytest.param("ABC_123", id="underscore"),
        pytest.param("ABC/123", id="slash"),
        pytest.param("ABC123!", id="exclamation"),
        pytest.param("ÄBC123", id="accented-letter"),
        pytest.param("ABC😀123", id="emoji"),
        pytest.param("ABC\x00123", id="control-character"),
    ],
)
def test_anything_but_two_to_twelve_letters_digits_or_cjk_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPlateError) as raised:
        normalise_plate(raw)

    assert raised.value.code == "invalid_plate"
    assert raised.value.details == ["vehicle_license_plate"]
    assert isinstance(raised.value, InvalidInputError)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("ß12", id="sharp-s-upper-cases-to-SS"),
        pytest.param("ı123", id="dotless-i-upper-cases-to-I"),
    ],
)
def test_a_non_latin_letter_is_refused_rather_than_upper_cased_into_latin_ones(raw: str) -> None:
    with pytest.raises(InvalidPlateError):
        normalise_plate(raw)


def test_nfkc_spells_a_compatibility_ligature_out_in_its_letters() -> None:
    assert normalise_plate("ﬁ123") == "FI123"


def test_a_yijing_hexagram_symbol_is_refused_although_it_sits_among_the_cjk_code_points() -> None:
    with pytest.raises(InvalidPlateError):
        normalise_plate("䷀A1234")


def test_an_in_person_entry_outranks_every_camera_confidence() -> None:
    assert plate_score("in_person", None) == IN_PERSON_SCORE
    assert plate_score("in_person", 1) == IN_PERSON_SCORE
    assert plate_score("in_person", None) > plate_score("camera", 100)


def test_camera_reads_rank_by_their_confidence() -> None:
    scores = [plate_score("camera", c) for c in (1, 49, 50, 51, 100)]

    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)


def test_a_read_without_a_confidence_counts_as_fifty_whatever_its_source() -> None:
    assert UNRATED_READ_SCORE == 50
    assert plate_score("camera", None) == plate_score("camera", 50)
    assert plate_score("data_feed", None) == 50
    assert plate_score("data_feed", 80) == 80


def test_a_plate_key_is_the_truncated_hmac_of_the_normalised_plate() -> None:
    expected = hmac.new(DEVELOPMENT_PLATE_HASH_KEY.encode(), "贵A12345".encode(), hashlib.sha256)
    assert plate_key("贵a 12345") == expected.hexdigest()[:32]
    assert len(plate_key("ABC123")) == 32 and plate_key("ABC123") != plate_key("ABC124")
    assert plate_key_or_none(None) is None and plate_key_or_none("abc-123") == plate_key("ABC123")


def test_a_plate_key_depends_on_the_secret_and_bad_plates_have_none() -> None:
    default = plate_key("ABC123")
    try:
        use_plate_hash_key("another secret")
        assert plate_key("ABC123") != default
        with pytest.raises(ValueError):
            use_plate_hash_key("")
    finally:
        use_plate_hash_key(DEVELOPMENT_PLATE_HASH_KEY)
    assert plate_key("ABC123") == default
    with pytest.raises(InvalidPlateError):
        plate_key("not a plate!")
