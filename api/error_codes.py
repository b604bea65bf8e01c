"""Every stable error `code` the API can answer, listed once: its HTTP status and what it means.

Native routes answer problem+json whose `type` is `/docs/errors#<code>`, the anchor of the
code on the page `api/error_docs.py` serves from this list; CDS routes answer the same codes
as `error`. Item codes are not whole answers: a pushed batch reports them per refused event
in its `failures`, and a single event refused at the curb answers them with 422.

A code answers one status, save where a second is listed with its reason. A test walks the
source for codes (domain errors' `code`, `ApiError`, `error_response`, `ItemError`) and fails
when one is missing here or listed here but answered nowhere. Each meaning is marked for the
catalogues: the page and its JSON speak the request's language, the codes stay English."""

from __future__ import annotations

from dataclasses import dataclass

from parking.errors import N_


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
    _code("bad_request", N_("The request is malformed (HTTP's own 400)."), 400),
    _code("invalid_json", N_("The body is not JSON, or not the JSON object the route takes."), 400),
    _code("invalid_parameters", N_("Fields of the query or body are invalid; `errors` lists each one."), 400),
    _code("invalid_input", N_("The input breaks a rule of the domain; the message says which."), 400),
    _code("nesting_too_deep", N_("The JSON body nests deeper than the server reads."), 400),
    _code("nul_character", N_("Text contains the NUL character (U+0000), which is never stored."), 400),
    _code("payload_too_large", N_("The body, or a part of a form, is over the size limit."), 413),
    _code("unsupported_media_type", N_("The body is not of a media type the route takes."), 415),
    _code(
        "multipart_required", N_("The route takes multipart/form-data (a resolution with its photo)."), 415
    ),
    _code("not_acceptable", N_("No media type in Accept is one the route answers."), 406),
    _code(
        "method_not_allowed", N_("The route exists but not with this method; Allow lists its methods."), 405
    ),
    _code("not_found", N_("No route, or no such thing in this district."), 404),
    _code("conflict", N_("The request conflicts with what is already recorded."), 409),
    _code("http_error", N_("Any other HTTP error the web server raises itself."), 400),
    _code("internal_error", N_("An unexpected fault; quote the request id in the message."), 500),
    _code(
        "domain_error", N_("A rule of the domain refused the request (the base of all domain codes)."), 400
    ),
    # who is calling
    _code("unauthorized", N_("No Bearer token, or it is unknown, revoked or for another district."), 401),
    _code("forbidden", N_("The caller's role may not call this route (see docs/ACCESS.md)."), 403),
    _code("bad_credentials", N_("The user name, e-mail or password is wrong."), 401),
    _code("too_many_attempts", N_("Too many failed sign-ins; Retry-After says when to try again."), 429),
    _code("too_many_requests", N_("Too many requests; Retry-After says when to try again."), 429),
    _code("invalid_token", N_("The staff token was revoked or has expired: sign in again."), 401),
    _code("unknown_token", N_("No such token of this staff account."), 404),
    _code("unknown_account", N_("No such staff account."), 404),
    _code("username_taken", N_("A staff account already has this user name."), 409),
    _code("weak_password", N_("The password is shorter or longer than a password may be."), 400),
    _code("cannot_disable_self", N_("An administrator cannot disable their own account."), 409),
    _code("email_taken", N_("A driver account already has this e-mail."), 409),
    _code("unknown_claim", N_("No such plate claim in the district."), 404),
    _code("claim_decided", N_("The plate claim was approved or refused already."), 409),
    _code(
        "plates_not_allowed", N_("The caller's role does not enforce, so it may not search by plate."), 403
    ),
    _code("district_required", N_("The driver's plates owe in several districts: name the district."), 400),
    # places, devices, roads and bays
    _code("unknown_district", N_("No district has this slug."), 404),
    _code("unknown_locale", N_("No page catalogue for this locale (there are en and zh_Hans_CN)."), 404),
    _code(
        "unknown_road",
        N_("No such road in the district (400 when a staff account's beat names it)."),
        404,
        400,
    ),
    _code("unknown_bay", N_("No such bay in the district (also a per-item code of a push)."), 404, 422),
    _code("unknown_device", N_("No such device in the district."), 404),
    _code("device_revoked", N_("The device was decommissioned."), 409),
    _code(
        "invalid_device",
        N_("The device breaks a rule: a stake covers one to four bays, a POS has a beat."),
        400,
    ),
    _code("device_not_pos", N_("Registrations at the curb go through a handheld POS terminal."), 422),
    _code("event_too_old", N_("A registration goes back at most EVENT_MAX_AGE_HOURS."), 422),
    _code("invalid_inventory", N_("The inventory file of roads and bays is invalid."), 400),
    _code("invalid_tile_url", N_("A map tile URL is not an http(s) XYZ template ({z}, {x}, {y})."), 400),
    _code("invalid_tile_crs", N_("A district's map tiles are drawn in wgs84 or gcj02, nothing else."), 400),
    _code("invalid_tile_attribution", N_("A map tile attribution is missing or not one short line."), 400),
    _code("unknown_place", N_("No such area, road or bay to report on."), 404),
    _code("bad_place", N_("The report's place is malformed."), 400),
    _code("unknown_curb_place", N_("No curb area, zone or space with bays has this id here."), 404),
    # query parameters of the CDS and vacancy routes
    _code(
        "bad_param", N_("A query parameter is malformed, or a box is upside down; the details name it."), 400
    ),
    _code(
        "missing_param",
        N_("A parameter that goes with another is missing (half a point, part of a box)."),
        400,
    ),
    _code("unsupported_param", N_("The route does not take this query parameter."), 400),
    _code("unsupported_metric", N_("The metric is not one CDS Metrics computes here."), 400),
    _code("invalid_coordinates", N_("A latitude is outside -90..90 or a longitude outside -180..180."), 400),
    _code("radius_out_of_range", N_("The search radius is not above 0 metres and within the limit."), 400),
    _code("bad_time_range", N_("The end time is not after the start time."), 400),
    _code("time_range_too_long", N_("The time range is longer than the route answers at once."), 400),
    _code("bad_period", N_("The report period is malformed."), 400),
    _code("period_in_future", N_("The report period has not begun."), 400),
    _code("date_in_future", N_("The date has not begun in the district's time zone."), 400),
    _code("date_out_of_range", N_("The date is before the first day open data covers."), 400),
    _code("month_in_future", N_("The month has not begun in the district's time zone."), 400),
    _code("no_forecast", N_("No forecast is fitted for this road yet."), 404),
    _code("unknown_chart", N_("No chart has this name."), 404),
    # pushed events
    _code("not_an_array", N_("A push's body must be a JSON array of curb events."), 400),
    _code("too_many_events", N_("A push holds more events than a batch may."), 413),
    _code("too_many_reads", N_("A patrol car sent more plate reads than a request may."), 413),
    _item("invalid_event", N_("The item is not a JSON object (a CDS Curb Event).")),
    _item("missing_field", N_("Required fields of the event are missing.")),
    _item("invalid_field", N_("Fields of the event have the wrong type or value.")),
    _item("unsupported_event_type", N_("Devices may not push events of this type.")),
    _item("device_mismatch", N_("data_source_device_id is not the device whose token pushes it.")),
    _item("event_in_future", N_("event_time is ahead of the server clock by more than the allowed skew.")),
    _item("end_before_start", N_("A park_end is earlier than the park_start of its event_session_id.")),
    _item("event_id_conflict", N_("The event id was logged before with other content.")),
    _item("zone_mismatch", N_("The bay is not in the curb zone the event names.")),
    _item("bay_not_covered", N_("The device does not cover the bay the event names.")),
    _code("invalid_plate", N_("The plate is not a valid plate (also a per-item code of a push)."), 400, 422),
    _code("plate_required", N_("A plate check or registration needs the plate."), 400),
    # tariffs and pricing
    _code("invalid_tariff", N_("The tariff document breaks a rule; `errors` lists each."), 400),
    _code("tariff_gap", N_("The tariff leaves a time of the week without a price."), 400),
    _code("tariff_overlap", N_("The tariff prices a time of the week twice."), 400),
    _code("tariff_in_past", N_("A tariff version can only take effect in the future."), 409),
    _code("no_tariff", N_("No tariff is in force for this road at that time."), 404),
    _code("unknown_vehicle_class", N_("The tariff has no such vehicle class."), 400),
    _code("nothing_to_publish", N_("The advice changes no road's tariff."), 409),
    _code("tariff_code_taken", N_("A tariff already has this code."), 409),
    # payments
    _code("already_paid", N_("What was asked for is paid already."), 409),
    _code("nothing_to_pay", N_("Nothing is owed."), 409),
    _code("amount_mismatch", N_("The amount is not what is owed now; quote again."), 409),
    _code("payment_in_progress", N_("Another payment for the same stays is still in flight."), 409),
    _code("idempotency_key_reused", N_("The Idempotency-Key was used before with another request."), 409),
    _code("invalid_idempotency_key", N_("The Idempotency-Key header is too long."), 400),
    _code("refund_exceeds_payment", N_("A refund may not exceed what is left of the payment."), 409),
    _code("refund_exceeds_charge", N_("The provider refuses a refund over what is left of the charge."), 409),
    _code("not_refundable", N_("The payment has not succeeded, so there is nothing to refund."), 409),
    _code("payment_declined", N_("The card was declined or needs authentication; nothing was charged."), 402),
    _code("payment_method_declined", N_("The card was refused when saved; nothing was charged."), 402),
    _code("no_saved_card", N_("The driver account has no saved card."), 409),
    _code("unknown_payment", N_("No such payment."), 404),
    _code("no_receipt", N_("No succeeded payment has this id, so there is no receipt."), 404),
    _code(
        "invalid_callback_url",
        N_("The callback is not an absolute http or https URL, or it carries credentials."),
        400,
    ),
    _code("gateway_error", N_("The payment provider failed."), 502),
    _code("payment_gateway_unavailable", N_("The payment provider could not be reached."), 502),
    _code("not_test_mode", N_("Raw card numbers are taken only by a local test server."), 502),
    _code("webhook_signature_invalid", N_("The webhook's signature is missing, wrong or too old."), 400),
    # documents
    _code("font_missing", N_("A font the PDF needs is not installed on the server."), 500),
    _code("chart_font_missing", N_("The font the charts need is not installed on the server."), 500),
    # enforcement
    _code("unknown_task", N_("No such warden task."), 404),
    _code("task_transition", N_("The task cannot move to that state from its current one."), 409),
    _code("not_your_task", N_("Another warden has taken the task."), 403),
    _code("not_your_team", N_("The task is for another team."), 403),
    _code("outside_beat", N_("The bay is outside the warden's beat."), 403),
    _code("photo_required", N_("A citation needs a photo."), 400),
    _code("photo_not_image", N_("The photo is not a JPEG, PNG or WebP image."), 400),
    _code("photo_too_large", N_("The photo is over the size limit."), 413),
    _code("no_photo", N_("The task has no photo."), 404),
    _code("no_violation", N_("Only a task about a violation can end in a citation."), 409),
    _code("unknown_violation", N_("No such violation."), 404),
    _code("unknown_citation", N_("No such citation (or, to a driver, none of their linked plates)."), 404),
    _code("citation_not_payable", N_("The citation is appealed (wait for the decision) or voided."), 409),
    _code("citation_exists", N_("The violation already has a citation."), 409),
    _code("citation_transition", N_("The citation cannot move to that state from its current one."), 409),
    _code("no_fine", N_("The district has no fine for this violation's rule."), 404),
    _code("invalid_fine", N_("A fine is for a rule of the district and never negative."), 400),
    # field work (issue 15): outcomes per team, street reports, disputes, paying citations
    _code("outcome_not_for_team", N_("That outcome code is not one of the closing team's."), 400),
    _code(
        "invalid_street_report",
        N_("A street report's kind is vending, goods_on_road, construction or other."),
        400,
    ),
    _code("payment_required", N_("A payment taken at the curb needs its amount and method."), 400),
    _code("citations_and_stays", N_("One payment pays stays or citations, not both."), 400),
    _code("unknown_stay", N_("No such stay (priced, of this plate) in the district."), 404),
    _code("unknown_dispute", N_("No such dispute."), 404),
    _code("not_mine", N_("The stay or citation is not of the driver's linked plates."), 404),
    _code("invalid_dispute", N_("The dispute or its decision is malformed (target, reason or amount)."), 400),
    _code("dispute_open", N_("The stay or citation already has an open dispute."), 409),
    _code("dispute_decided", N_("The dispute was already decided."), 409),
    _code("not_disputable", N_("Only a priced fee or an issued citation can be disputed."), 409),
)

BY_CODE: dict[str, ErrorCode] = {e.code: e for e in ERROR_CODES}
