"""What drivers call: vacancy and forecast, tariffs and quotes, paying by plate and card, receipts, their account."""
