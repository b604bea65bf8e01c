"""Tariffs, fees, charges, payments, refunds, arrears, receipts and reconciliation (issue 3)."""
