"""The City of Melbourne's table of bay restrictions, read by its adapter, and each bay's
signs as one tariff document."""

from __future__ import annotations

import csv
from pathlib import Path

from billing.tariff import Tariff
from fixtures.restrictions import MelbourneAdapter, Sign, tariff_code, tariff_document

COLUMNS = ["Description", "Duration", "FromDay", "ToDay", "StartTime", "EndTime", "EffectiveOnPH", "DisabilityExt", "TypeDesc"]  # fmt: skip


def table(tmp_path: Path, bays: dict[str, list[dict[str, str]]]) -> Path:
    path = tmp_path / "restrictions.csv"
    with path.open("w", newline="") as handle:
        out = csv.DictWriter(handle, ["BayID", *(f"{c}{n}" for c in COLUMNS for n in range(1, 7))])
        out.writeheader()
        for bay, signs in bays.items():
            row = {"BayID": bay}
            for n, sign in enumerate(signs, start=1):
                row.update({f"{k}{n}": v for k, v in sign.items()})
            out.writerow(row)
    return path


def sign(text: str, minutes: str, first: str, last: str, start: str, end: str, **more: str) -> dict[str, str]:
    cells = {
        "Description": text,
        "Duration": minutes,
        "FromDay": first,
        "ToDay": last,
        "StartTime": start,
        "EndTime": end,
        "EffectiveOnPH": "0",
        "DisabilityExt": "0",
        "TypeDesc": "",
    }
    return cells | more


def test_a_metered_bay_with_three_windows_reads_as_three_limits_with_their_days(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        {
            "1129": [
                sign(
                    "1P MTR M-SAT 7:30-18:30    ", "60", "1", "6", "7:30:00", "18:30:00", DisabilityExt="120"
                ),
                sign("2P MTR M-SAT 18.30 - 20.30", "120", "1", "6", "18:30:00", "20:30:00"),
                sign("1P SUN 7:30-18:30", "60", "0", "0", "7:30:00", "18:30:00", EffectiveOnPH="1"),
            ]
        },
    )
    (bay,) = MelbourneAdapter().read(path)
    assert bay.bay == "1129" and bay.unknown == []
    first, evening, sunday = bay.signs
    assert first.text == "1P MTR M-SAT 7:30-18:30"
    assert first.days == ("mon", "tue", "wed", "thu", "fri", "sat") and first.windows == ((450, 1110),)
    assert (first.max_stay_minutes, first.metered, first.disability_extension_minutes) == (60, True, 120)
    assert evening.windows == ((1110, 1230),) and evening.max_stay_minutes == 120
    assert sunday.days == ("sun", "holiday") and not sunday.metered


def test_monday_to_sunday_wraps_and_a_day_ending_at_2359_or_midnight_ends_at_2400(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        {
            "1": [sign("P/10 M-SUN 0:00-23:59", "10", "1", "0", "0:00:00", "23:59:00")],
            "2": [sign("4P DIS ONLY ALL OTHER TIMES", "240", "1", "0", "9:31:00", "7:30:00")],
        },
    )
    one, two = MelbourneAdapter().read(path)
    assert one.signs[0].days == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert one.signs[0].windows == ((0, 1440),)
    assert two.signs[0].windows == ((571, 1440), (0, 450)) and two.signs[0].disabled_only


def test_unreadable_or_contradicting_sign_texts_are_reported_per_bay_and_left_out(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        {
            "7": [
                sign("#VALUE!", "60", "1", "6", "7:30:00", "18:30:00"),
                sign("43102 P MTR M-F 9.3 to 18.3", "30", "1", "5", "9:30:00", "18:30:00"),
                sign("2P MTR M-SAT 7:30-18:30", "60", "1", "6", "7:30:00", "18:30:00"),
                sign("1P SAT 7:30-18:30", "sixty", "6", "6", "7:30:00", "18:30:00"),
                sign("LZ 30M M-F 7:30-18:30", "30", "1", "5", "7:30:00", "18:30:00"),
            ]
        },
    )
    (bay,) = MelbourneAdapter().read(path)
    assert [(u.bay, u.text) for u in bay.unknown] == [
        ("7", "#VALUE!"),
        ("7", "43102 P MTR M-F 9.3 to 18.3"),
        ("7", "2P MTR M-SAT 7:30-18:30"),
        ("7", "1P SAT 7:30-18:30"),
    ]
    assert "states 120 minutes, the table 60" in bay.unknown[2].reason
    (loading,) = bay.signs
    assert loading.loading_zone and loading.max_stay_minutes == 30


def test_a_clearway_is_a_no_stopping_restriction_not_a_limit() -> None:
    clearway = Sign("CW TOW M-F 7:00-10:00", ("mon", "tue"), ((420, 600),), None, activity="no stopping")
    document = tariff_document([clearway], grace_minutes=5, holidays=[])
    assert document["stay_limits"] == []
    assert document["restrictions"] == [
        {"name": "CW TOW M-F 7:00-10:00", "days": ["mon", "tue"], "windows": [["07:00", "10:00"]], "activity": "no stopping"}
    ]  # fmt: skip
    Tariff(document, "Australia/Melbourne")


def test_bays_with_the_same_signs_share_one_tariff_code_and_different_signs_do_not() -> None:
    one_hour = Sign("1P SAT", ("sat",), ((450, 1110),), 60)
    two_hours = Sign("2P SAT", ("sat",), ((450, 1110),), 120)
    first = tariff_code(tariff_document([one_hour], 5, []))
    assert first == tariff_code(tariff_document([one_hour], 5, []))
    assert first != tariff_code(tariff_document([two_hours], 5, []))
    assert first.startswith("signs-") and len(first) <= 40
