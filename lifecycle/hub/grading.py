"""The grading service: grade every submission as it arrives, release its feedback.

Started by the hub as its service ``grading`` (``/services/grading/``)::

    python -m lifecycle.hub.grading --state .hub --port PORT

Each round takes the oldest pending submission of each learner and lesson
(:func:`lifecycle.hub.queue.pending`), puts it into ``grading/submitted`` (nbgrader's
``submitted`` layout, the latest submission of each learner), runs
``python -m autograder grade`` on it -- the course's grader, confined as on the command
line; it refuses to run unconfined, and so does this service -- then copies each
notebook's feedback page to ``exchange/<course>/feedback/<hash>.html``, the name
nbgrader's ``release_feedback`` gives it, where the learner's *Fetch Feedback* finds it.
Grades go into ``grading/graded/gradebook.db``, which the instructor's formgrader shows.

The same process serves the instructor's live view (:mod:`lifecycle.hub.live`),
``grades.csv``, ``scores.csv``, the class report (``report/``, rewritten by every grading
run) and a JSON status, to the instructor only (hub OAuth).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from lifecycle.hub import live
from lifecycle.hub.layout import HubLayout
from lifecycle.hub.queue import Submission, done_records, mark_done, pending
from lifecycle.lab import COURSE_ID, ROOT

__all__ = ["GradingService", "main"]

LOG = logging.getLogger("lifecycle.hub.grading")
IDLE_SECONDS = 1.0          # how often the inbound folder is looked at when idle
GATHER_SECONDS = 2.0        # wait this long after a first submission for others
RETRY_SECONDS = 15.0        # after the grader itself failed (the batch stays queued)


class GradingService:
    """The queue worker.

    Parameters
    ----------
    layout : HubLayout
        The hub's state folders.
    workers : int, optional
        ``--workers`` of the grader (default: the machine's cores).
    """

    def __init__(self, layout: HubLayout, workers: int | None = None):
        self.layout = layout
        self.workers = workers
        self.course = layout.exchange / COURSE_ID
        self.lessons = {p.name for p in (ROOT / "course").iterdir()
                        if p.is_dir() and list(p.glob("*.ipynb"))}
        self.last_error: str | None = None
        self.busy: list[str] = []
        self.rounds = 0

    # -- one round ---------------------------------------------------------------------
    def next_batch(self) -> list[Submission]:
        """The oldest pending submission of each (learner, lesson); refusals are recorded."""
        if self.course.is_dir() and not (self.course / "feedback").is_dir():
            # Learners' Fetch Feedback fails loudly until the folder exists: make it early.
            (self.course / "feedback").mkdir()
            os.chmod(self.course / "feedback", 0o711)
        todo, rejected = pending(self.course / "inbound", self.layout.queue, self.lessons)
        for record in rejected:
            LOG.warning("not grading %s: %s", record["key"], record["why"])
            mark_done(self.layout.queue, record["key"], dict(record, at=time.time()))
        batch, seen = [], set()
        # At most two notebooks per worker in one run: a learner who submits during a run
        # waits for that run only, not for a whole room's (see docs/instructor.md, Sizing).
        limit = 2 * (self.workers or os.cpu_count() or 1)
        for sub in todo:
            if len(batch) >= limit:
                break
            if (sub.learner, sub.lesson) not in seen:
                seen.add((sub.learner, sub.lesson))
                batch.append(sub)
        return batch

    def _stage(self, sub: Submission) -> None:
        dest = self.layout.submitted / sub.learner / sub.lesson
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for nb in sub.folder.glob("*.ipynb"):
            if nb.is_file() and not nb.is_symlink():
                shutil.copyfile(nb, dest / nb.name)
        (dest / "timestamp.txt").write_text(sub.timestamp)

    def _grade_argv(self, lessons: list[str]) -> list[str]:
        argv = [sys.executable, "-m", "autograder", "grade", str(self.layout.submitted),
                "--out", str(self.layout.graded), "--quiet"]
        for lesson in lessons:
            argv += ["--lesson", lesson]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        return argv

    def release(self, sub: Submission, graded_at: float) -> list[str]:
        """Copy ``sub``'s feedback pages into the exchange; return the notebooks released."""
        from nbgrader.utils import notebook_hash

        outbound = self.course / "feedback"
        outbound.mkdir(exist_ok=True)
        os.chmod(outbound, 0o711)  # as nbgrader's release_feedback: passable, not listable
        pages = self.layout.graded / "feedback" / sub.learner / sub.lesson
        released = []
        for html in sorted(pages.glob("*.html")):
            name = notebook_hash(secret=sub.secret, notebook_id=html.stem) + ".html"
            tmp = outbound / f".{name}.tmp"
            shutil.copyfile(html, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, outbound / name)
            released.append(html.stem)
        # What the formgrader's own "release feedback" needs beside the pages.
        (pages / "timestamp.txt").write_text(sub.timestamp)
        (pages / "submission_secret.txt").write_text(sub.secret)
        return released

    async def grade(self, batch: list[Submission]) -> bool:
        """Grade one batch; False if the grader failed (the batch stays queued)."""
        start = time.time()
        for sub in batch:
            self._stage(sub)
        self.busy = [sub.key for sub in batch]
        lessons = sorted({sub.lesson for sub in batch})
        proc = await asyncio.create_subprocess_exec(
            *self._grade_argv(lessons), cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        output, _ = await proc.communicate()
        self.busy = []
        if proc.returncode != 0:
            self.last_error = (f"the grader exited with {proc.returncode}: "
                               + output.decode(errors="replace")[-2000:])
            LOG.error("%s", self.last_error)
            return False
        self.last_error = None
        for sub in batch:
            released = self.release(sub, time.time())
            mark_done(self.layout.queue, sub.key, {
                "key": sub.key, "learner": sub.learner, "lesson": sub.lesson,
                "timestamp": sub.timestamp, "status": "graded", "notebooks": released,
                "queued_seconds": round(start - sub.folder.stat().st_mtime, 3),
                "grading_seconds": round(time.time() - start, 3), "at": time.time()})
            LOG.info("graded %s/%s (%s)", sub.learner, sub.lesson, sub.key)
        return True

    async def run(self) -> None:
        """Grade forever: a round whenever something is pending."""
        # Each lesson's gradebook entry costs the first grading run seconds: make them
        # before the room submits (in this task, so never beside a grading run).
        await asyncio.to_thread(_prepare_gradebook, self.layout, sorted(self.lessons))
        while True:
            try:
                batch = self.next_batch()
                if batch:
                    # A room submits in bursts: gather what arrives within a moment into
                    # the same run (graded in parallel) rather than one run each.
                    await asyncio.sleep(GATHER_SECONDS)
                    batch = self.next_batch()
                ok = await self.grade(batch) if batch else True
                self.rounds += 1
            except Exception as error:  # noqa: BLE001 - keep serving; say what broke
                LOG.exception("grading round failed")
                self.last_error = repr(error)
                ok = False
            await asyncio.sleep(IDLE_SECONDS if ok else RETRY_SECONDS)

    def status(self) -> dict:
        """Queue and results, for the live view and tests."""
        todo, _ = pending(self.course / "inbound", self.layout.queue, self.lessons)
        records = done_records(self.layout.queue)
        return {"pending": [s.key for s in todo], "grading": list(self.busy),
                "done": records, "last_error": self.last_error, "rounds": self.rounds}


def _app(service: GradingService, prefix: str):
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from tornado import web

    class Base(HubOAuthenticated, web.RequestHandler):
        def check_xsrf_cookie(self):  # read-only pages; the hub's token or cookie decides
            return None

    class Page(Base):
        @web.authenticated
        def get(self):
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.write(live.render(live.snapshot(service.layout, service.status())))

    class Status(Base):
        @web.authenticated
        def get(self):
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps(service.status()))

    class Csv(Base):
        @web.authenticated
        def get(self, name):
            path = service.layout.graded / name
            if not path.exists():
                raise web.HTTPError(404, "nothing graded yet")
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header("Content-Disposition", f"attachment; filename={name}")
            self.write(path.read_bytes())

    class Report(HubOAuthenticated, web.StaticFileHandler):
        """The grader's class report and the feedback pages it links (under graded/)."""

        @web.authenticated
        async def get(self, path, include_body=True):
            return await super().get(path, include_body)

    return web.Application([
        (prefix, Page),
        (prefix + r"report/(.*)", Report, {"path": str(service.layout.graded),
                                           "default_filename": "report.html"}),
        (prefix + "api/status", Status),
        (prefix + r"(grades\.csv|scores\.csv)", Csv),
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
    ], cookie_secret=os.urandom(32))


def _prepare_gradebook(layout: HubLayout, lessons: list[str]) -> None:
    from autograder.classrun.gradebook import course_config, prepare_assignments

    try:
        prepare_assignments(course_config(str(ROOT), str(layout.graded)), lessons)
    except Exception:  # noqa: BLE001 - the grader makes them itself otherwise
        LOG.exception("preparing the gradebook failed; the first grading run will do it")


async def _serve(args) -> None:
    layout = HubLayout(Path(args.state).resolve())
    service = GradingService(layout, args.workers)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/grading/")
    app = _app(service, prefix)
    app.listen(args.port, address="127.0.0.1")
    LOG.info("grading service on 127.0.0.1:%s%s, queue %s", args.port, prefix, layout.queue)
    await service.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.hub.grading",
                                     description="Grade submissions as they arrive.")
    parser.add_argument("--state", required=True, help="the hub's state folder")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--workers", type=int, default=None, help="grader --workers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[grading %(asctime)s] %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
