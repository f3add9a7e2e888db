"""Stored addresses checked against today's `normalize_email`: what the migrations (and
`manage.py email_collisions`) report, and the one change they make.

A row whose new spelling differs is rewritten to it when no other row shares that spelling: it is the same
mailbox (`"alice"@example.com` is `alice@example.com`), and its reader could not log in otherwise. Rows
whose new spellings collide (one mailbox, several accounts or trials) and rows whose stored form is now
refused are reported and left as they are: which account keeps the mailbox is the operator's call.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models

from account.models import normalize_email

BATCH_SIZE = 500

# Model label and field of every stored address; apps above account add theirs in AppConfig.ready.
ADDRESS_FIELDS: list[tuple[str, str]] = [("account.User", "email")]


def register_address_field(label: str, field_name: str = "email") -> None:
    if (label, field_name) not in ADDRESS_FIELDS:
        ADDRESS_FIELDS.append((label, field_name))


@dataclass
class AddressReport:
    name: str
    rewrites: list[tuple[int, str, str]] = field(default_factory=list)  # pk, stored, new spelling
    collisions: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # new spelling: [(pk, stored)]
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # pk, stored, why
    rewritten: bool = False

    def lines(self) -> list[str]:
        """The report for a log, a line a row: nothing at all when every row is in its one spelling."""
        done = "rewritten" if self.rewritten else "to rewrite"
        lines = [f"{self.name}: {done} #{pk} {old} -> {new}" for pk, old, new in self.rewrites]
        for new, rows in self.collisions.items():
            same = ", ".join(f"#{pk} {old}" for pk, old in rows)
            lines.append(f"{self.name}: COLLISION one mailbox {new}: {same}")
        lines += [f"{self.name}: REFUSED #{pk} {old}: {why}" for pk, old, why in self.refused]
        return lines


def address_report(model: type[models.Model], field_name: str = "email", *, rewrite: bool = False) -> AddressReport:
    """Check every stored address of `model` (a historical model in a migration); with `rewrite`, give each
    row that collides with no other its new spelling. Collisions and refused rows are never changed."""
    report = AddressReport(name=f"{model._meta.label}.{field_name}")
    changed: dict[str, list[tuple[int, str]]] = defaultdict(list)
    rows = model._base_manager.order_by("pk").values_list("pk", field_name)
    for pk, stored in rows.iterator(chunk_size=BATCH_SIZE):
        try:
            new = normalize_email(stored)
        except ValidationError as exc:
            report.refused.append((pk, stored, exc.messages[0]))
            continue
        if new != stored:
            changed[new].append((pk, stored))
    # Rows already in their one spelling are unique among themselves (a unique column): a collision needs a
    # changed row, so only the changed rows' spellings are looked up.
    spellings = list(changed)
    for start in range(0, len(spellings), BATCH_SIZE):
        batch = spellings[start : start + BATCH_SIZE]
        for pk, stored in model._base_manager.filter(**{f"{field_name}__in": batch}).values_list("pk", field_name):
            changed[stored].insert(0, (pk, stored))
    for new, rows in changed.items():
        if len(rows) > 1:
            report.collisions[new] = sorted(rows)
        else:
            report.rewrites.append((rows[0][0], rows[0][1], new))
    report.rewrites.sort()
    if rewrite:
        for pk, old, new in report.rewrites:
            model._base_manager.filter(pk=pk, **{field_name: old}).update(**{field_name: new})
        report.rewritten = True
    return report


def migrate_addresses(model: type[models.Model], field_name: str = "email") -> AddressReport:
    """The migrations' step: rewrite what is safe and print the rest for the operator (DEPLOYMENT.md)."""
    report = address_report(model, field_name, rewrite=True)
    lines = report.lines()
    if lines:
        print("\n  Stored addresses under the new rules (`manage.py email_collisions` shows this again):")
        print("\n".join(f"    {line}" for line in lines))
    return report
