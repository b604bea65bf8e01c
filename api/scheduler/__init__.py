"""The scheduler process: APScheduler 3 running the jobs of `api/scheduler/jobs.py` on timers.

Exactly one scheduler runs jobs at a time: each process renews a lease in the database and
runs jobs only while it holds it; when the holder stops (or dies), another takes over once
the lease expires. Never start this inside web workers."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from api.database import new_session
from api.scheduler.jobs import JOBS, run_job
from parking.lease import hold_lease, release_lease
from parking.unit_of_work import writing

log = logging.getLogger(__name__)
LEASE = "scheduler"


class Scheduler:
    """One scheduler process (or thread, in tests) competing for the lease."""

    def __init__(self, app: Flask, *, blocking: bool, holder: str | None = None) -> None:
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.ttl = timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])
        self.leader = False
        self.runs: dict[str, int] = {name: 0 for name in JOBS}
        self._aps: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
        renew = self.ttl.total_seconds() / 3
        self._aps.add_job(self.renew, "interval", seconds=renew, id="lease", max_instances=1)
        every = app.config.get("SCHEDULER_JOB_SECONDS", {})  # tests run jobs more often
        for job in JOBS.values():
            seconds = every.get(job.name, job.every.total_seconds())
            self._aps.add_job(
                self.run,
                "interval",
                args=[job.name],
                seconds=seconds,
                id=job.name,
                max_instances=1,
                coalesce=True,
            )

    def start(self) -> None:
        self.renew()
        self._aps.start()

    def stop(self) -> None:
        self._aps.shutdown(wait=True)
        if self.leader:
            db = new_session(self.app)
            try:
                with writing(db):
                    release_lease(db, LEASE, self.holder)
            finally:
                db.close()
            self.leader = False

    def renew(self) -> None:
        db = new_session(self.app)
        try:
            with writing(db):
                leader = hold_lease(
                    db, LEASE, self.holder, self.app.extensions["parking.clock"].now(), self.ttl
                )
        except Exception:
            log.exception("could not renew the scheduler lease")
            leader = False
        finally:
            db.close()
        if leader != self.leader:
            log.info("scheduler %s %s the lease", self.holder, "holds" if leader else "lost")
        self.leader = leader

    def run(self, name: str) -> None:
        if not self.leader:
            return
        try:
            summary = run_job(self.app, name)
            self.runs[name] += 1
            log.info("%s: %s", name, summary)
        except Exception:
            log.exception("job %s failed", name)
