"""Devices and their tokens, the append-only event log, CDS event parsing, device health."""
