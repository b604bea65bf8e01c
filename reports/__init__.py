"""Bureau reports: occupancy, stays, money, enforcement and device figures of a place over a
local period, beside the previous period (docs/REPORTS.md).

Reports read parking, sensors, billing and enforcement and write nothing. Occupancy is the CDS
Metrics fold of `parking.metrics`, so a report and CDS Metrics agree by construction.
"""
