"""The rule catalogue (reference/rules.csv) and the Issue value every check produces.

A problem in a unit's workbook is data, not an exception: it has a rule id (R01-R20), a
severity, a location the unit can find (file, sheet, cell) and a Vietnamese message made
from one template per rule plus the specific detail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from tongket.reference import rules

ERROR, WARNING = "error", "warning"
# R14 is an error, except for one tolerated reading: a number followed by the indicator's own
# unit of measure ("12 cuộc"), loaded with a warning so the unit still sees it.
TOLERATED_READING_SEVERITY = WARNING


@dataclass(frozen=True)
class Issue:
    """One problem found in one submitted file."""

    file_sha256: str
    file_name: str
    rule_id: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None  # e.g. F12 (the sheet is separate); None for file-level issues
    indicator_code: str | None = None
    period: int | None = None

    @property
    def location(self) -> str:
        """Where the unit finds it: `01_PBGDPL!F12`, `01_PBGDPL` or the file itself."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or "(tệp)"

    def as_row(self) -> dict:
        return asdict(self)


ISSUE_COLUMNS = tuple(f.name for f in fields(Issue))


def rule_message(rule_id: str, detail: str | None = None) -> str:
    """The rule's Vietnamese message, with the specific detail after a colon."""
    base = rules()[rule_id].message_vi
    return f"{base}: {detail}" if detail else base


def make_issue(
    rule_id: str,
    file_sha256: str,
    file_name: str,
    detail: str | None = None,
    *,
    sheet: str | None = None,
    cell: str | None = None,
    indicator_code: str | None = None,
    period: int | None = None,
    severity: str | None = None,
) -> Issue:
    """An Issue for `rule_id`, its severity taken from the catalogue unless overridden."""
    return Issue(
        file_sha256=file_sha256,
        file_name=file_name,
        rule_id=rule_id,
        severity=severity or rules()[rule_id].severity,
        message=rule_message(rule_id, detail),
        sheet=sheet,
        cell=cell,
        indicator_code=indicator_code,
        period=period,
    )
