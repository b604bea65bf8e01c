"""Languages: a district's default locale, the person's choice kept in a cookie, the
browser's Accept-Language; problem answers translated with their codes kept English; the
page scripts' catalogue; plates checked by each district's own rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district
from parking.clock import FixedClock
from parking.inventory import ensure_district

GA36_REFUSAL = "“AB”不符合GA 36（机动车号牌标准）：号牌以省份简称"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    small = build_small_district(db, clock.now() - timedelta(days=30))
    small.district.default_locale = "zh_Hans_CN"
    db.commit()
    return small


def unpaid(client: FlaskClient, plate: str, **kwargs: object) -> dict[str, object]:
    response = client.get(f"/api/v1/testville/plates/{plate}/unpaid", **kwargs)  # type: ignore[arg-type]
    return {"status": response.status_code, **response.get_json()}


def test_a_chinese_district_answers_problems_in_chinese_and_keeps_the_code_english(
    client: FlaskClient, town: SmallDistrict
) -> None:
    problem = unpaid(client, "AB")

    assert (problem["status"], problem["code"]) == (400, "invalid_plate")
    assert str(problem["title"]).startswith(GA36_REFUSAL)


def test_lang_in_the_query_wins_and_is_kept_in_a_cookie(client: FlaskClient, town: SmallDistrict) -> None:
    response = client.get("/api/v1/testville/plates/AB/unpaid?lang=en")

    assert response.get_json()["title"].startswith(
        "'AB' is not a plate under GA 36 (Chinese motor-vehicle plates)"
    )
    assert "lang=en" in response.headers["Set-Cookie"]
    assert unpaid(client, "AB")["title"] == response.get_json()["title"]  # the cookie remembers


def test_the_browsers_language_decides_when_the_person_chose_none(
    client: FlaskClient, town: SmallDistrict
) -> None:
    english = unpaid(client, "AB", headers={"Accept-Language": "en-AU,en;q=0.9"})
    chinese = unpaid(client, "AB", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})

    assert str(english["title"]).startswith("'AB' is not a plate under GA 36")
    assert str(chinese["title"]).startswith(GA36_REFUSAL)


def test_full_width_input_finds_the_same_plate(client: FlaskClient, town: SmallDistrict) -> None:
    assert unpaid(client, "贵Ａ１２３４５")["plate"] == "贵A12345"
    assert unpaid(client, "中华人民共和国")["code"] == "invalid_plate"


def test_a_district_outside_china_speaks_english_and_keeps_its_own_plate_rule(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    ensure_district(
        db, "melbourne", clock.now(), name="Melbourne", time_zone="Australia/Melbourne", currency="AUD"
    )
    db.commit()

    response = client.get("/api/v1/melbourne/plates/AB/unpaid")
    refused = client.get("/api/v1/melbourne/plates/A!B/unpaid").get_json()

    assert response.status_code == 200 and response.get_json()["plate"] == "AB"
    assert refused["code"] == "invalid_plate" and refused["title"].startswith("'A!B' is not a licence plate")


def test_the_page_scripts_catalogue_is_served_per_locale(client: FlaskClient) -> None:
    chinese = client.get("/i18n/zh_Hans_CN.json")
    english = client.get("/i18n/en.json").get_json()

    assert chinese.status_code == 200 and chinese.get_json()["locale"] == "zh_Hans_CN"
    assert set(chinese.get_json()["messages"]) == set(english["messages"])
    assert all(english["messages"][k] == k for k in english["messages"])
    assert client.get("/i18n/fr.json").status_code == 404
    assert client.get("/i18n/zh.json").status_code == 404


def test_a_dispute_by_plate_is_checked_by_the_districts_plate_rule(
    client: FlaskClient, town: SmallDistrict
) -> None:
    stay = "00000000-0000-4000-8000-000000000000"
    response = client.post("/api/v1/testville/plates/AB/disputes", json={"stay": stay, "reason": "not me"})

    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_plate"
    assert response.get_json()["title"].startswith(GA36_REFUSAL)


def test_an_error_with_parameters_is_worded_in_the_requests_language(client: FlaskClient) -> None:
    english = client.get("/i18n/fr.json").get_json()
    chinese = client.get("/i18n/fr.json?lang=zh_Hans_CN").get_json()

    assert english["code"] == chinese["code"] == "unknown_locale"
    assert english["title"] == "no catalogue 'fr'; there are zh_Hans_CN, en"
    assert chinese["title"] == "没有 'fr' 的语言包；现有 zh_Hans_CN, en"


def test_the_field_messages_of_a_refused_request_are_worded_in_the_requests_language(
    client: FlaskClient, town: SmallDistrict
) -> None:
    path = "/api/v1/testville/quote?road=x&arrival=yesterday&minutes=-5&colour=red"
    english = client.get(path, headers={"Accept-Language": "en"}).get_json()
    chinese = client.get(path).get_json()

    assert english["code"] == chinese["code"] == "invalid_parameters"
    assert english["errors"] == [
        "arrival: Not a valid datetime.",
        "colour: Unknown field.",
        "minutes: Must be greater than or equal to 1 and less than or equal to 10080.",
    ]
    assert chinese["errors"] == [
        "arrival: 不是有效的日期时间。",
        "colour: 未知字段。",
        "minutes: 必须大于或等于 1 且小于或等于 10080。",
    ]
