"""A plain text progress bar for the import command (stderr, redrawn in place)."""

from __future__ import annotations

from typing import Protocol, TextIO


class Progress(Protocol):
    def start(self, label: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, label: str, total: int) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None

    def finish(self) -> None:
        return None


class TextProgress:
    """``reading   [##########..........]  50%  13,000/26,000``, redrawn when the percentage
    changes; ``finish`` ends the line."""

    def __init__(self, stream: TextIO, *, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.label = ""
        self.total = 0
        self.done = 0
        self._shown = -1
        self._open = False

    def start(self, label: str, total: int) -> None:
        if self._open:
            self.finish()
        self.label, self.total, self.done, self._shown = label, max(total, 0), 0, -1
        self._open = True
        self._draw()

    def advance(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total) if self.total else self.done + n
        self._draw()

    def finish(self) -> None:
        if not self._open:
            return
        self.done = self.total
        self._draw(force=True)
        self.stream.write("\n")
        self.stream.flush()
        self._open = False

    def _draw(self, *, force: bool = False) -> None:
        percent = 100 if not self.total else self.done * 100 // self.total
        if percent == self._shown and not force:
            return
        self._shown = percent
        filled = self.width * percent // 100
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label:<10} [{bar}] {percent:3d}%  {self.done:,}/{self.total:,}")
        self.stream.flush()
