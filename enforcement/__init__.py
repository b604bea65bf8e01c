"""Overstay and restriction rules, sweeps, violations, tasks and citations (issue 4)."""
