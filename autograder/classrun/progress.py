"""Progress of a grading run: a bar with time left on a terminal, plain lines in a log."""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Report notebooks graded so far.

    Parameters
    ----------
    total : int
        Notebooks to grade.
    quiet : bool
        Print nothing.
    stream : file, default sys.stderr
    """

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total, self.quiet = total, quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.count, self.start = 0, time.monotonic()

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def _eta(self) -> str:
        if not self.count:
            return "--:--"
        left = (time.monotonic() - self.start) / self.count * (self.total - self.count)
        return f"{int(left // 60):02d}:{int(left % 60):02d}"

    def step(self, label: str, outcome) -> None:
        self.count += 1
        if self.quiet:
            return
        score = sum(r["score"] for r in outcome.rows)
        total = sum(r["max_score"] for r in outcome.rows)
        statuses = sorted({r["status"] for r in outcome.rows} - {"ok", "error"})
        flag = f" [{', '.join(statuses)}]" if statuses else ""
        if self.tty:
            width = 30
            filled = int(width * self.count / max(self.total, 1))
            bar = "#" * filled + "-" * (width - filled)
            print(f"\r[{bar}] {self.count}/{self.total} notebooks, {self._eta()} left  ",
                  end="", file=self.stream, flush=True)
        else:
            print(f"graded {self.count}/{self.total} {label}: {score:g}/{total:g}{flag} "
                  f"({outcome.seconds:.1f} s, about {self._eta()} left)", file=self.stream,
                  flush=True)

    def done(self) -> None:
        if not self.quiet and self.tty and self.total:
            print(file=self.stream)
