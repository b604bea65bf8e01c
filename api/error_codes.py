"""Every stable error `code` the API can answer, listed once: its HTTP status and what it means.

Native routes answer problem+json whose `type` is `/docs/errors#<code>`, the anchor of the
code on the page `api/error_docs.py` serves from this list; CDS routes answer the same codes
as `error`. Item codes are not whole answers: a pushed batch reports them per refused event
in its `failures`, and a single event refused at the curb answers them with 422.

A code answers one status, save where a second is listed with its reason. A test walks the
source for codes (domain errors' `code`, `ApiError`, `error_response`, `ItemError`) and fails
when one is missing here or listed here but answered nowhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    statuses: tuple[int, ...]  # the usual status first
    meaning: str
    item: bool = False  # reported per event of a pushed batch, not as a whole answer

    @property
    def status(self) -> int:
        return self.statuses[0]


def _code(code: str, meaning: str, *statuses: int) -> ErrorCode:
    return ErrorCode(code, statuses, meaning)


def _item(code: str, meaning: str) -> ErrorCode:
    return ErrorCode(code, (422,), meaning, item=True)


ERROR_CODES: tuple[ErrorCode, ...] = (
    # the request itself: shape, size, media types, negotiation
    _code("bad_request", "The request is malformed (HTTP's own 400).", 400),
    _code("invalid_json", "The body is not JSON, or not the JSON object the route takes.", 400),
    _code("invalid_parameters", "Fields of the query or body are invalid; `errors` lists each one.", 400),
    _code("invalid_input", "The input breaks a rule of the domain; the message says which.", 400),
    _code("nesting_too_deep", "The JSON body nests deeper than the server reads.", 400),
    _code("nul_character", "Text contains the NUL character (U+0000), which is never stored.", 400),
    _code("payload_too_large", "The body, or a part of a form, is over the size limit.", 413),
    _code("unsupported_media_type", "The body is not of a media type the route takes.", 415),
    _code("multipart_required", "The route takes multipart/form-data (a resolution with its photo).", 415),
    _code("not_acceptable", "No media type in Accept is one the route answers.", 406),
    _code("method_not_allowed", "The route exists but not with this method; Allow lists its methods.", 405),
    _code("not_found", "No route, or no such thing in this district.", 404),
    _code("conflict", "The request conflicts with what is already recorded.", 409),
    _code("http_error", "Any other HTTP error the web server raises itself.", 400),
    _code("internal_error", "An unexpected fault; quote the request id in the message.", 500),
    _code("domain_error", "A rule of the domain refused the request (the base of all domain codes).", 400),
    # who is calling
    _code("unauthorized", "No Bearer token, or it is unknown, revoked or for another district.", 401),
    _code("forbidden", "The caller's role may not call this route (see docs/ACCESS.md).", 403),
    _code("bad_credentials", "The user name, e-mail or password is wrong.", 401),
    _code("too_many_attempts", "Too many failed sign-ins; Retry-After says when to try again.", 429),
    _code("too_many_requests", "Too many requests; Retry-After says when to try again.", 429),
    _code("invalid_token", "The staff token was revoked or has expired: sign in again.", 401),
    _code("unknown_token", "No such token of this staff account.", 404),
    _code("unknown_account", "No such staff account.", 404),
    _code("username_taken", "A staff account already has this user name.", 409),
    _code("weak_password", "The password is shorter or longer than a password may be.", 400),
    _code("cannot_disable_self", "An administrator cannot disable their own account.", 409),
    _code("email_taken", "A driver account already has this e-mail.", 409),
    _code("unknown_claim", "No such plate claim in the district.", 404),
    _code("claim_decided", "The plate claim was approved or refused already.", 409),
    _code("plates_not_allowed", "The caller's role does not enforce, so it may not search by plate.", 403),
    _code("district_required", "The driver's plates owe in several districts: name the district.", 400),
    # places, devices, roads and bays
    _code("unknown_district", "No district has this slug.", 404),
    _code("unknown_locale", "No page catalogue for this locale (there are en and zh_Hans_CN).", 404),
    _code(
        "unknown_road",
        "No such road in the district (400 when a staff account's beat names it).",
        404,
        400,
    ),
    _code("unknown_bay", "No such bay in the district (also a per-item code of a push).", 404, 422),
    _code("unknown_device", "No such device in the district.", 404),
    _code("device_revoked", "The device was decommissioned.", 409),
    _code(
        "invalid_device", "The device breaks a rule: a stake covers one to four bays, a POS has a beat.", 400
    ),
    _code("device_not_pos", "Registrations at the curb go through a handheld POS terminal.", 422),
    _code("event_too_old", "A registration goes back at most EVENT_MAX_AGE_HOURS.", 422),
    _code("invalid_inventory", "The inventory file of roads and bays is invalid.", 400),
    _code("invalid_tile_url", "A map tile URL is not an http(s) XYZ template ({z}, {x}, {y}).", 400),
    _code("invalid_tile_crs", "A district's map tiles are drawn in wgs84 or gcj02, nothing else.", 400),
    _code("invalid_tile_attribution", "A map tile attribution is missing or not one short line.", 400),
    _code("unknown_place", "No such area, road or bay to report on.", 404),
    _code("bad_place", "The report's place is malformed.", 400),
    _code("unknown_curb_place", "No curb area, zone or space with bays has this id here.", 404),
    # query parameters of the CDS and vacancy routes
    _code("bad_param", "A query parameter is malformed, or a box is upside down; the details name it.", 400),
    _code(
        "missing_param", "A parameter that goes with another is missing (half a point, part of a box).", 400
    ),
    _code("unsupported_param", "The route does not take this query parameter.", 400),
    _code("unsupported_metric", "The metric is not one CDS Metrics computes here.", 400),
    _code("invalid_coordinates", "A latitude is outside -90..90 or a longitude outside -180..180.", 400),
    _code("radius_out_of_range", "The search radius is not above 0 metres and within the limit.", 400),
    _code("bad_time_range", "The end time is not after the start time.", 400),
    _code("time_range_too_long", "The time range is longer than the route answers at once.", 400),
    _code("bad_period", "The report period is malformed.", 400),
    _code("period_in_future", "The report period has not begun.", 400),
    _code("date_in_future", "The date has not begun in the district's time zone.", 400),
    _code("date_out_of_range", "The date is before the first day open data covers.", 400),
    _code("month_in_future", "The month has not begun in the district's time zone.", 400),
    _code("no_forecast", "No forecast is fitted for this road yet.", 404),
    _code("unknown_chart", "No chart has this name.", 404),
    # pushed events
    _code("not_an_array", "A push's body must be a JSON array of curb events.", 400),
    _code("too_many_events", "A push holds more events than a batch may.", 413),
    _code("too_many_reads", "A patrol car sent more plate reads than a request may.", 413),
    _item("invalid_event", "The item is not a JSON object (a CDS Curb Event)."),
    _item("missing_field", "Required fields of the event are missing."),
    _item("invalid_field", "Fields of the event have the wrong type or value."),
    _item("unsupported_event_type", "Devices may not push events of this type."),
    _item("device_mismatch", "data_source_device_id is not the device whose token pushes it."),
    _item("event_in_future", "event_time is ahead of the server clock by more than the allowed skew."),
    _item("end_before_start", "A park_end is earlier than the park_start of its event_session_id."),
    _item("event_id_conflict", "The event id was logged before with other content."),
    _item("zone_mismatch", "The bay is not in the curb zone the event names."),
    _item("bay_not_covered", "The device does not cover the bay the event names."),
    _code("invalid_plate", "The plate is not a valid plate (also a per-item code of a push).", 400, 422),
    _code("plate_required", "A plate check or registration needs the plate.", 400),
    # tariffs and pricing
    _code("invalid_tariff", "The tariff document breaks a rule; `errors` lists each.", 400),
    _code("tariff_gap", "The tariff leaves a time of the week without a price.", 400),
    _code("tariff_overlap", "The tariff prices a time of the week twice.", 400),
    _code("tariff_in_past", "A tariff version can only take effect in the future.", 409),
    _code("no_tariff", "No tariff is in force for this road at that time.", 404),
    _code("unknown_vehicle_class", "The tariff has no such vehicle class.", 400),
    _code("nothing_to_publish", "The advice changes no road's tariff.", 409),
    _code("tariff_code_taken", "A tariff already has this code.", 409),
    # payments
    _code("already_paid", "What was asked for is paid already.", 409),
    _code("nothing_to_pay", "Nothing is owed.", 409),
    _code("amount_mismatch", "The amount is not what is owed now; quote again.", 409),
    _code("payment_in_progress", "Another payment for the same stays is still in flight.", 409),
    _code("idempotency_key_reused", "The Idempotency-Key was used before with another request.", 409),
    _code("invalid_idempotency_key", "The Idempotency-Key header is too long.", 400),
    _code("refund_exceeds_payment", "A refund may not exceed what is left of the payment.", 409),
    _code("refund_exceeds_charge", "The provider refuses a refund over what is left of the charge.", 409),
    _code("not_refundable", "The payment has not succeeded, so there is nothing to refund.", 409),
    _code("payment_declined", "The card was declined or needs authentication; nothing was charged.", 402),
    _code("payment_method_declined", "The card was refused when saved; nothing was charged.", 402),
    _code("no_saved_card", "The driver account has no saved card.", 409),
    _code("unknown_payment", "No such payment.", 404),
    _code("no_receipt", "No succeeded payment has this id, so there is no receipt.", 404),
    _code(
        "invalid_callback_url",
        "The callback is not an absolute http or https URL, or it carries credentials.",
        400,
    ),
    _code("gateway_error", "The payment provider failed.", 502),
    _code("payment_gateway_unavailable", "The payment provider could not be reached.", 502),
    _code("not_test_mode", "Raw card numbers are taken only by a local test server.", 502),
    _code("webhook_signature_invalid", "The webhook's signature is missing, wrong or too old.", 400),
    # documents
    _code("font_missing", "A font the PDF needs is not installed on the server.", 500),
    _code("chart_font_missing", "The font the charts need is not installed on the server.", 500),
    # enforcement
    _code("unknown_task", "No such warden task.", 404),
    _code("task_transition", "The task cannot move to that state from its current one.", 409),
    _code("not_your_task", "Another warden has taken the task.", 403),
    _code("not_your_team", "The task is for another team.", 403),
    _code("outside_beat", "The bay is outside the warden's beat.", 403),
    _code("photo_required", "A citation needs a photo.", 400),
    _code("photo_not_image", "The photo is not a JPEG, PNG or WebP image.", 400),
    _code("photo_too_large", "The photo is over the size limit.", 413),
    _code("no_photo", "The task has no photo.", 404),
    _code("no_violation", "Only a task about a violation can end in a citation.", 409),
    _code("unknown_violation", "No such violation.", 404),
    _code("unknown_citation", "No such citation (or, to a driver, none of their linked plates).", 404),
    _code("citation_not_payable", "The citation is appealed (wait for the decision) or voided.", 409),
    _code("citation_exists", "The violation already has a citation.", 409),
    _code("citation_transition", "The citation cannot move to that state from its current one.", 409),
    _code("no_fine", "The district has no fine for this violation's rule.", 404),
    _code("invalid_fine", "A fine is for a rule of the district and never negative.", 400),
    # field work (issue 15): outcomes per team, street reports, disputes, paying citations
    _code("outcome_not_for_team", "That outcome code is not one of the closing team's.", 400),
    _code(
        "invalid_street_report",
        "A street report's kind is vending, goods_on_road, construction or other.",
        400,
    ),
    _code("payment_required", "A payment taken at the curb needs its amount and method.", 400),
    _code("citations_and_stays", "One payment pays stays or citations, not both.", 400),
    _code("unknown_stay", "No such stay (priced, of this plate) in the district.", 404),
    _code("unknown_dispute", "No such dispute.", 404),
    _code("not_mine", "The stay or citation is not of the driver's linked plates.", 404),
    _code("invalid_dispute", "The dispute or its decision is malformed (target, reason or amount).", 400),
    _code("dispute_open", "The stay or citation already has an open dispute.", 409),
    _code("dispute_decided", "The dispute was already decided.", 409),
    _code("not_disputable", "Only a priced fee or an issued citation can be disputed.", 409),
)

BY_CODE: dict[str, ErrorCode] = {e.code: e for e in ERROR_CODES}
