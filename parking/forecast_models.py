"""The fitted forecast: per road, day class and 15-minute slot of the local day, how likely
the road is to have at least one free bay; and per road, how long its stays last (both
refreshed by the `forecast` job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base


class RoadForecast(Base):
    """One cell of a road's model: the smoothed probability that the road had a free bay at
    instants of this slot on days of this class, and the samples it was learned from."""

    __tablename__ = "road_forecast"

    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"), primary_key=True)
    day_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)  # 0..95: local minute // 15
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    probability: Mapped[float]
    samples: Mapped[int]
    free_samples: Mapped[int]
    fitted_at: Mapped[datetime]


class RoadDwell(Base):
    """A road's dwell survival curve: `survival[i]` is the probability that a stay lasts
    longer than i x `parking.dwell.DWELL_STEP`, learned from `stays` stays (blended with
    the district's curve, see `parking.dwell`)."""

    __tablename__ = "road_dwell"

    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    stays: Mapped[int]
    survival: Mapped[list[float]] = mapped_column(JSON)
    fitted_at: Mapped[datetime]
