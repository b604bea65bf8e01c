"""Use cases of a driver's own account in billing: ask to link a plate (proven by paying its
stays, or by staff), and pay what the account's plates owe from the saved card.

Like billing/services.py, each runs its own units of work (parking/unit_of_work.py): a
payment is committed pending before the provider is asked, with no transaction open while it
answers. Views call these with the signed-in account's id and shape the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.gateway import PaymentGateway
from billing.ledger import owed_by_plates
from billing.models import REQUIRES_ACTION, Payment, PlateClaim
from billing.payment_keys import payment_key
from billing.payments import NothingToPayError, plan_account_payment, require_succeeded
from billing.plate_links import linked_plates, pending_plates, prove_by_payment, request_link
from billing.services import charge_pending
from identity.models import DriverAccount
from parking.errors import N_, InvalidInputError, Message
from parking.inventory import get_district
from parking.models import District
from parking.plate_rules import accept_plate_under_any
from parking.unit_of_work import writing


class DistrictRequiredError(InvalidInputError):
    code = "district_required"


def payable_plates(db: Session, account: DriverAccount) -> list[str]:
    """The account's linked plates and those it asked to link: what they owe is public by
    plate, so it may be paid (and paying a pending plate's stays proves its link)."""
    return sorted({*linked_plates(db, account), *pending_plates(db, account)})


def link_plate(
    db: Session,
    account_id: int,
    plate_text: str,
    district_slug: str | None,
    evidence: str | None,
    now: datetime,
) -> tuple[str, PlateClaim | None]:
    """The plate as accepted by any district's plate rule, and the account's pending claim for
    it (None: the plate is the account's already). A payment made since is checked first, as
    it may prove an earlier claim."""
    plate = accept_plate_under_any(db.scalars(select(District.plate_rule).distinct()), plate_text)
    with writing(db):
        account = db.get_one(DriverAccount, account_id)
        prove_by_payment(db, account, now)
        claim = request_link(db, account, _claim_district(db, district_slug), plate, evidence, now)
    return plate, claim


def _claim_district(db: Session, slug: str | None) -> District:
    if slug is not None:
        return get_district(db, slug)
    districts = db.scalars(select(District).limit(2)).all()
    if len(districts) != 1:
        raise DistrictRequiredError(N_("name the district whose staff decide the claim"), ["district"])
    return districts[0]


def pay_from_account(
    db: Session,
    gateway: PaymentGateway,
    account_id: int,
    amount: Any,
    payment_method: str | None,
    client_key: str,
    district_slug: str | None,
    now: datetime,
) -> tuple[Payment, bool]:
    """Pay what the account's plates owe in a district (named, or the only one they owe in),
    oldest arrears first, with the saved card unless another is given. The pending payment
    is committed, then charged; a payment that needs 3-D Secure is returned as it stands,
    one that succeeded proves the links of the plates it paid. `client_key` (the
    Idempotency-Key, may be empty) makes a retry answer the first payment: (payment, created)."""
    key = payment_key(f"account:{account_id}", client_key)
    with writing(db):
        account = db.get_one(DriverAccount, account_id)
        plates = payable_plates(db, account)
        district = _paying_district(db, plates, district_slug)
        payment, created = plan_account_payment(
            db, district, account, plates, amount, payment_method, key, now
        )
    payment = charge_pending(db, gateway, payment.id, now)
    if payment.status == REQUIRES_ACTION and payment.payment_intent_id:  # the browser finishes it
        return payment, created
    require_succeeded(payment)
    with writing(db):
        prove_by_payment(db, db.get_one(DriverAccount, account_id), now)
    return payment, created


def _paying_district(db: Session, plates: Sequence[str], slug: str | None) -> District:
    if slug is not None:
        return get_district(db, slug)
    owing = [d for d in db.scalars(select(District).order_by(District.slug)) if owed_by_plates(db, d, plates)]
    if not owing:
        raise NothingToPayError("your plates owe nothing")
    if len(owing) > 1:
        names = ", ".join(d.slug for d in owing)
        owe = Message(N_("your plates owe in %(districts)s: name the district"), {"districts": names})
        raise DistrictRequiredError(owe, ["district"])
    return owing[0]
