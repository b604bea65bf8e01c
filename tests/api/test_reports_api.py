"""Bureau reports over HTTP: JSON, CSV and XLSX of the same figures, roles, bad parameters
(the figures themselves are hand-computed in tests/unit/test_reports.py)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from identity.staff import issue_staff_token
from tests.conftest import TEST_NOW
from tests.unit.test_reports import Town, town  # noqa: F401  (the hand-computed Testville)

SUMMARY = "/api/v1/testville/reports/summary"
PROBLEMS = "/api/v1/testville/reports/top-problems"


@pytest.fixture
def tokens(db: Session, town: Town) -> dict[str, str]:  # noqa: F811
    out = {
        role: issue_staff_token(db, town.small.district, role, f"{role} one", TEST_NOW)[1]
        for role in ("admin", "bureau", "city", "warden", "police", "attendant")
    }
    db.commit()
    return out


def get(client: FlaskClient, url: str, token: str | None, **query: Any) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, query_string={"start": "2026-03-01", **query}, headers=headers)


def test_the_json_report_holds_both_periods_with_their_figures(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    response = get(client, SUMMARY, tokens["bureau"], period="day")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["district"], body["currency"], body["time_zone"]) == ("testville", "CNY", "Asia/Shanghai")
    assert body["place"] == {"type": "district", "id": None, "name": "Testville"}
    current, previous = body["current"], body["previous"]
    assert current["period"] == {
        "kind": "day",
        "start": "2026-03-01",
        "end": "2026-03-01",
        "granularity": "hour",
    }
    assert previous["period"]["start"] == "2026-02-28"
    assert current["occupancy"]["mean_percent"] == 6.38
    assert current["occupancy"]["peak_hours"][0] == {"hour": 9, "occupancy_percent": 37.5}
    assert current["stays"]["turnover_per_bay_per_day"] == 1.0
    assert current["revenue"] == {
        "fees": 4, "billed": 2100, "paid": 700, "outstanding": 1400, "collection_rate": 0.3333,
        "collected": 1200, "refunded": 100, "net_collected": 1100,
    }  # fmt: skip
    assert current["channels"][0] == {"channel": "auto", "payments": 1, "amount": 600, "share": 0.5}
    assert current["arrears_ageing"][0] == {
        "label": "0-7",
        "from_days": 0,
        "to_days": 7,
        "fees": 1,
        "amount": 200,
    }
    assert current["stays"]["dwell_bins"][2] == {
        "label": "30-60",
        "from_minutes": 30,
        "to_minutes": 60,
        "stays": 1,
    }
    assert {d["kind"]: d["uptime_percent"] for d in current["devices"]}["data_feed"] == 95.83
    warden = next(r for r in current["response_times"] if r["team"] == "warden")
    assert (warden["take_median_seconds"], warden["take_p90_seconds"]) == (1200.0, 1680.0)


def test_the_csv_export_parses_into_the_same_figures(client: FlaskClient, tokens: dict[str, str]) -> None:
    response = get(client, SUMMARY, tokens["bureau"], format="csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    sections: dict[str, list[list[str]]] = {}
    name = None
    for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
        if not row:
            name = None
        elif name is None:
            name = row[0]
            sections[name] = []
        else:
            sections[name].append(row)
    assert list(sections)[:3] == ["about", "summary", "occupancy_series"]
    summary = {row[0]: row[1:] for row in sections["summary"][1:]}
    assert summary["occupancy_mean_percent"] == ["percent", "6.38", "2.43"]
    assert summary["revenue_billed"] == ["CNY", "2100", "150"]
    assert sections["channels"][0] == ["period", "channel", "payments", "amount", "share", "currency"]
    assert ["current", "pos_cash", "1", "100", "0.0833", "CNY"] in sections["channels"]


def test_the_xlsx_export_has_one_sheet_per_section_with_numbers(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    response = get(client, SUMMARY, tokens["admin"], format="xlsx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames[:4] == ["about", "summary", "occupancy_series", "occupancy_by_hour"]
    assert "arrears_ageing" in book.sheetnames and "devices" in book.sheetnames
    summary = {row[0]: row[1:] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["revenue_billed"] == ("CNY", 2100, 150)
    assert summary["occupancy_mean_percent"] == ("percent", 6.38, 2.43)
    ageing = list(book["arrears_ageing"].iter_rows(values_only=True))
    assert ageing[1] == ("current", "0-7", 0, 7, 1, 200, "CNY")
    assert ageing[4][3] is None  # 91+ has no upper bound: an empty cell


def test_a_road_report_and_top_problems(client: FlaskClient, tokens: dict[str, str], town: Town) -> None:  # noqa: F811
    road = town.small.roads[1]
    body = get(client, SUMMARY, tokens["city"], place_type="road", place_id=road.uuid).get_json()
    problems = get(client, PROBLEMS, tokens["bureau"], limit=1)

    assert body["place"] == {"type": "road", "id": road.uuid, "name": road.name}
    assert body["current"]["revenue"]["billed"] == 1500
    assert problems.status_code == 200
    assert [r["name"] for r in problems.get_json()["lowest_collection_rate"]] == [road.name]
    book = load_workbook(io.BytesIO(get(client, PROBLEMS, tokens["bureau"], format="xlsx").get_data()))
    assert book.sheetnames == [
        "most_violations",
        "lowest_collection_rate",
        "highest_occupancy",
        "lowest_occupancy",
    ]
    assert get(client, PROBLEMS, tokens["bureau"], format="csv").mimetype == "text/csv"


@pytest.mark.parametrize("role", ["warden", "police", "attendant"])
def test_street_roles_may_not_read_reports(client: FlaskClient, tokens: dict[str, str], role: str) -> None:
    assert get(client, SUMMARY, tokens[role]).get_json()["code"] == "forbidden"
    assert get(client, PROBLEMS, tokens[role]).status_code == 403


def test_a_report_needs_a_token(client: FlaskClient, tokens: dict[str, str]) -> None:
    assert get(client, SUMMARY, None).status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"start": "2026-13-01"}, 400, "invalid_parameters"),
        ({"period": "year"}, 400, "invalid_parameters"),
        ({"format": "pdf"}, 400, "invalid_parameters"),
        ({"period": "week"}, 400, "bad_period"),  # 2026-03-01 is a Sunday
        ({"start": "2026-03-05"}, 400, "period_in_future"),
        ({"place_type": "road"}, 400, "bad_place"),
        ({"place_type": "road", "place_id": "nope"}, 400, "bad_place"),
        ({"place_type": "area", "place_id": "00000000-0000-4000-8000-000000000000"}, 404, "unknown_place"),
    ],
)
def test_bad_parameters_have_stable_codes(
    client: FlaskClient, tokens: dict[str, str], query: dict[str, str], status: int, code: str
) -> None:
    response = get(client, SUMMARY, tokens["bureau"], **query)

    assert response.status_code == status
    assert response.get_json()["code"] == code


def test_a_missing_start_and_an_unknown_district(client: FlaskClient, tokens: dict[str, str]) -> None:
    response = client.get(SUMMARY, headers={"Authorization": f"Bearer {tokens['bureau']}"})

    assert response.get_json()["code"] == "invalid_parameters"
    assert get(client, "/api/v1/nowhere/reports/summary", tokens["bureau"]).status_code == 404


def test_the_reports_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]

    operation = paths["/api/v1/{district}/reports/summary"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    }  # fmt: skip
    assert "/api/v1/{district}/reports/top-problems" in paths


def test_a_chinese_districts_monthly_pdf_is_in_chinese_with_extractable_characters(
    client: FlaskClient,
    db: Session,
    town: Town,  # noqa: F811
    tokens: dict[str, str],
) -> None:
    town.small.district.default_locale = "zh_Hans_CN"
    db.commit()

    response = client.get(
        "/api/v1/testville/reports/monthly.pdf?month=2026-03",
        headers={"Authorization": f"Bearer {tokens['bureau']}"},
    )

    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "2026-03 停车月报",
        "生成时间 2026年3月2日 10:00（当地时间）",
        "关键指标",
        "平均占用率",
        "问题路段排行",
        f"页 1/{len(reader.pages)}",
    ):
        assert expected in text
    assert "Key figures" not in text and "Monthly parking report" not in text


def test_a_chinese_districts_exports_have_chinese_titles_and_headers_and_english_keeps_field_names(
    client: FlaskClient,
    db: Session,
    town: Town,  # noqa: F811
    tokens: dict[str, str],
) -> None:
    town.small.district.default_locale = "zh_Hans_CN"
    db.commit()

    book = load_workbook(io.BytesIO(get(client, PROBLEMS, tokens["bureau"], format="xlsx").get_data()))
    rows = list(
        csv.reader(io.StringIO(get(client, SUMMARY, tokens["bureau"], format="csv").get_data(as_text=True)))
    )
    english = client.get(
        PROBLEMS,
        query_string={"start": "2026-03-01", "format": "csv"},
        headers={"Authorization": f"Bearer {tokens['bureau']}", "Accept-Language": "en"},
    )

    assert book.sheetnames == ["违停最多的路段", "收缴率最低的路段", "占用率最高的路段", "占用率最低的路段"]
    assert [c.value for c in book["违停最多的路段"][1]] == [
        "排名", "路段编号", "路段名称", "违停次数", "应收（分）", "实收（分）", "收缴率", "占用率（%）", "币种",
    ]  # fmt: skip
    assert rows[:2] == [["报表说明"], ["项目", "值"]]
    assert ["汇总"] in rows and ["指标", "单位", "本期", "上期"] in rows
    assert english.get_data(as_text=True).splitlines()[:2] == [
        "most_violations",
        "rank,road,name,violations,billed,paid,collection_rate,occupancy_percent,currency",
    ]


# Data a person typed or an identifier, not words of the report: the district's slug, name and
# time zone, the road names, ids and ISO dates and times.
DATA = re.compile(
    r"testville|Testville|Asia/Shanghai|Jianshan Road|Zhaohui Road"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?"
)


def english_cells(cells: list[Any]) -> list[str]:
    """The cells that still hold an English word once data is taken out."""
    return sorted({str(c) for c in cells if c is not None and re.search(r"[a-z]{2}", DATA.sub("", str(c)))})


@pytest.mark.parametrize("url", [SUMMARY, PROBLEMS])
def test_a_chinese_export_has_no_english_word_in_any_cell_a_person_reads(
    client: FlaskClient,
    db: Session,
    town: Town,  # noqa: F811
    tokens: dict[str, str],
    url: str,
) -> None:
    town.small.district.default_locale = "zh_Hans_CN"
    db.commit()

    text = get(client, url, tokens["bureau"], format="csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    book = load_workbook(io.BytesIO(get(client, url, tokens["bureau"], format="xlsx").get_data()))
    english = get(client, url, tokens["bureau"], format="csv", lang="en").get_data(as_text=True)

    assert english_cells([c for row in rows for c in row]) == []
    assert english_cells([c.value for sheet in book for row in sheet.iter_rows() for c in row]) == []
    assert len(rows) == len(list(csv.reader(io.StringIO(english))))  # the same table, worded
    if url == SUMMARY:
        assert ["期间", "日"] in rows
        assert any(row[:2] == ["开始的停车次数", "次"] for row in rows)
        assert "stays_count,count," in english and "previous,overstay," in english
