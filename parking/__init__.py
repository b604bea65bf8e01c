"""Districts, roads and bays, and the bay timeline that turns curb events into stays.

This package is the shared kernel too: clock, errors and the database base types.
It imports nothing from the other project packages.
"""
