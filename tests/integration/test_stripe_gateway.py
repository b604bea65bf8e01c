"""StripeGateway against a real local Stripe-compatible server (localstripe on 127.0.0.1).

What localstripe 1.15.10 cannot show, and the FakeGateway unit tests cover instead: it ignores the
Idempotency-Key header (a repeated key creates a second payment), sends no charge.* or refund.*
webhooks, puts no payment_intent in a decline's error body, has no decline codes beyond
"card_declined" (no insufficient_funds...), and accepts refunds beyond the charge: the gateway
itself refuses those before asking.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from billing.gateway import (
    GatewayUnavailable,
    PaymentMethodDeclinedError,
    RefundExceedsChargeError,
    StripeGateway,
)
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe

VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"  # saves fine, declines when charged
DECLINED_ON_SAVE = "4000000000000002"
NEEDS_3D_SECURE = "4000002500003155"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def gateway(base_url: str) -> StripeGateway:
    return StripeGateway(TEST_API_KEY, base_url, "whsec_integration", max_network_retries=0)


@pytest.fixture(scope="module")
def customer(gateway: StripeGateway) -> str:
    return gateway.create_customer("driver@example.com", "A Driver", {"plate": "AB12345"})


@pytest.fixture(scope="module")
def saved_card(gateway: StripeGateway, base_url: str, customer: str) -> str:
    return gateway.attach_payment_method(customer, create_card_payment_method(base_url, VISA))


def test_a_customer_gets_a_stripe_id(gateway: StripeGateway) -> None:
    assert gateway.create_customer(None, None, {}).startswith("cus_")


def test_a_setup_intent_hands_out_a_client_secret(gateway: StripeGateway, customer: str) -> None:
    intent = gateway.create_setup_intent(customer)

    assert intent.id.startswith("seti_")
    assert intent.client_secret.startswith(intent.id + "_secret_")
    assert intent.status == "requires_payment_method"


def test_a_canonical_test_card_is_saved_under_a_new_id(gateway: StripeGateway, customer: str) -> None:
    saved = gateway.attach_payment_method(customer, "pm_card_visa")

    assert saved.startswith("pm_") and saved != "pm_card_visa"


def test_a_card_refused_when_saved_raises(gateway: StripeGateway, base_url: str, customer: str) -> None:
    with pytest.raises(PaymentMethodDeclinedError):
        gateway.attach_payment_method(customer, create_card_payment_method(base_url, DECLINED_ON_SAVE))


def test_an_off_session_charge_succeeds_with_its_amount_and_currency(
    gateway: StripeGateway, customer: str, saved_card: str
) -> None:
    result = gateway.charge_off_session(
        customer, saved_card, 1250, "CNY", "stay-1-a", "stay 1", {"stay_id": "1"}
    )

    assert (result.status, result.amount, result.currency) == ("succeeded", 1250, "cny")
    assert (result.payment_intent_id or "").startswith("pi_")
    assert (result.charge_id or "").startswith("ch_")
    assert gateway.retrieve_payment_intent(result.payment_intent_id or "") == result


def test_a_card_declined_when_charged_is_a_result(
    gateway: StripeGateway, base_url: str, customer: str
) -> None:
    card = gateway.attach_payment_method(customer, create_card_payment_method(base_url, DECLINED_ON_CHARGE))

    result = gateway.charge_off_session(customer, card, 500, "cny", "stay-2-a", "stay 2", {})

    assert (result.status, result.decline_code) == ("declined", "card_declined")
    assert (result.charge_id or "").startswith("ch_")


def test_a_card_needing_3d_secure_asks_for_the_driver(
    gateway: StripeGateway, base_url: str, customer: str
) -> None:
    card = gateway.attach_payment_method(customer, create_card_payment_method(base_url, NEEDS_3D_SECURE))

    result = gateway.charge_off_session(customer, card, 500, "cny", "stay-3-a", "stay 3", {})

    assert result.status == "requires_action"
    assert result.client_secret and result.charge_id is None
    assert gateway.retrieve_payment_intent(result.payment_intent_id or "").status == "requires_action"


def test_pay_now_charges_a_card_without_a_customer(gateway: StripeGateway) -> None:
    result = gateway.pay_now(
        "pm_card_visa", 800, "cny", "plate-AB12345-1", "pay by plate", {"plate": "AB12345"}
    )

    assert (result.status, result.amount, result.currency) == ("succeeded", 800, "cny")
    assert gateway.retrieve_payment_intent(result.payment_intent_id or "").status == "succeeded"


def test_a_partial_then_a_full_refund_and_nothing_beyond(
    gateway: StripeGateway, customer: str, saved_card: str
) -> None:
    intent = gateway.charge_off_session(
        customer, saved_card, 1000, "cny", "stay-4-a", "stay 4", {}
    ).payment_intent_id
    assert intent is not None

    partial = gateway.refund(intent, 300, "overcharged", "refund-4-1")
    with pytest.raises(RefundExceedsChargeError):
        gateway.refund(intent, 701, "overcharged", "refund-4-2")
    rest = gateway.refund(intent, 700, "overcharged", "refund-4-3")

    assert (partial.status, partial.amount, rest.amount) == ("succeeded", 300, 700)
    assert {refund.id for refund in gateway.list_refunds(intent)} == {partial.id, rest.id}
    with pytest.raises(RefundExceedsChargeError):
        gateway.refund(intent, 1, "overcharged", "refund-4-4")


def test_a_repeated_refund_key_returns_the_first_refund(gateway: StripeGateway) -> None:
    intent = (
        gateway.pay_now("pm_card_visa", 600, "cny", "plate-5", "pay by plate", {}).payment_intent_id or ""
    )

    first = gateway.refund(intent, 600, "duplicate", "refund-5-1")

    assert gateway.refund(intent, 600, "duplicate", "refund-5-1") == first
    assert gateway.list_refunds(intent) == [first]


def test_an_unknown_payment_intent_is_a_gateway_error(gateway: StripeGateway) -> None:
    with pytest.raises(GatewayUnavailable, match="404"):
        gateway.retrieve_payment_intent("pi_unknown")


def test_a_server_that_does_not_answer_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # bound, never listening: connections are refused
        gateway = StripeGateway(
            TEST_API_KEY, f"http://127.0.0.1:{closed_port}", "whsec", max_network_retries=0
        )

        with pytest.raises(GatewayUnavailable, match="could not create a customer"):
            gateway.create_customer(None, None, {})


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on port, read from /proc/net/tcp and tcp6."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def test_localstripe_listens_on_127_0_0_1_only(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])

    assert listening_addresses(port) == {"127.0.0.1"}
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=1):
        pass


def pickle_stamp() -> tuple[float, int] | None:
    path = "/tmp/localstripe.pickle"  # where stock localstripe keeps its state between runs
    return (os.stat(path).st_mtime, os.stat(path).st_size) if os.path.exists(path) else None


def test_two_starts_share_no_state() -> None:
    before = pickle_stamp()
    with running_localstripe() as first_url:
        customer = StripeGateway(TEST_API_KEY, first_url, "whsec").create_customer(None, None, {})
    with running_localstripe() as second_url:
        second = StripeGateway(TEST_API_KEY, second_url, "whsec", max_network_retries=0)
        with pytest.raises(GatewayUnavailable, match="404"):  # a setup intent does not check its customer
            second.attach_payment_method(customer, "pm_card_visa")

    assert pickle_stamp() == before
