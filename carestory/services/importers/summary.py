"""The result of an import and its text form (docs/data-import.md shows an example)."""

from __future__ import annotations

from dataclasses import dataclass, field

from carestory.services.importers.common import FileReport, Rejection


@dataclass
class ServiceCounts:
    added: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    # Details of the above (each service is counted once above).
    reopened: int = 0
    moved: int = 0
    added_by_kind: dict[str, int] = field(default_factory=dict)
    # Services in no file whose place in the tree changed because an ancestor moved.
    repathed: int = 0
    # Services that came from these files before but are not in them now (left as they are).
    absent: int = 0


@dataclass
class PostcodeCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportSummary:
    source: str
    fmt: str
    dry_run: bool = False
    written: bool = False
    files: list[FileReport] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    services: ServiceCounts = field(default_factory=ServiceCounts)
    postcodes: PostcodeCounts = field(default_factory=PostcodeCounts)
    located: dict[str, int] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def lines(self, *, verbosity: int = 1) -> list[str]:
        """The summary as text. Verbosity 1 lists up to 100 entries per list, 2 lists all."""
        limit = None if verbosity >= 2 else 100
        out = [f"Import from {self.source} (format {self.fmt})"]
        out.append("Files:")
        width = max([len(f.name) for f in self.files] + [len(m) for m in self.missing_files] + [10])
        for report in self.files:
            text = f"  {report.name:<{width}}  {report.rows:>7,} rows, {report.used:,} used"
            skipped = "; ".join(f"{n:,} {why}" for why, n in sorted(report.skipped.items()))
            out.append(text + (f"; skipped {skipped}" if skipped else ""))
        for name in self.missing_files:
            out.append(f"  {name:<{width}}  not found, not imported")

        if self.rejections:
            out.append(
                f"Rejected: {len(self.rejections):,} row(s). Nothing was written; "
                "correct the file(s) and run the import again."
            )
            out += _listing([str(r) for r in sorted(self.rejections)], limit)
            return out

        s = self.services
        tense = "would be " if self.dry_run else ""
        counts = _counts(added=s.added, updated=s.updated, closed=s.closed, unchanged=s.unchanged)
        out.append(f"Services {tense}{counts}; rejected 0")
        if s.added_by_kind:
            kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(s.added_by_kind.items()))
            out.append(f"  added by type: {kinds}")
        if s.moved or s.reopened:
            out.append(
                f"  of the updated: moved to a new parent {s.moved:,}, reopened {s.reopened:,}"
            )
        if s.repathed:
            out.append(f"  services below moved ones, re-pathed: {s.repathed:,}")
        if s.absent:
            out.append(
                f"  from these files before but not in them now (left as they are): {s.absent:,}"
            )
        p = self.postcodes
        if p.added or p.updated or p.unchanged:
            counts = _counts(added=p.added, updated=p.updated, unchanged=p.unchanged)
            out.append(f"Postcodes {tense}{counts}")
        if self.located:
            parts = ", ".join(f"{how} {n:,}" for how, n in sorted(self.located.items()))
            out.append(f"Locations: {parts}")
        for heading, entries in self.notes.items():
            out.append(f"{heading}:")
            out += _listing(entries, limit)
        if self.dry_run:
            out.append("Dry run: nothing was written.")
        return out


def _counts(**counts: int) -> str:
    """``added 1,204, updated 3``: each count after its name, in the order given."""
    return ", ".join(f"{name} {n:,}" for name, n in counts.items())


def _listing(entries: list[str], limit: int | None) -> list[str]:
    shown = entries if limit is None else entries[:limit]
    out = [f"  {e}" for e in shown]
    if len(shown) < len(entries):
        out.append(f"  ... and {len(entries) - len(shown):,} more (--verbosity 2 lists all)")
    return out
