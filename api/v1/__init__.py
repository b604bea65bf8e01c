"""The native API under /api/v1/, by audience: devices, drivers, staff and the bureau."""
