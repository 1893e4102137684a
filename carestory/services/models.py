"""The service tree: organisations, sites, departments, GP practices, care homes..."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from carestory.lib.postcodes import MAX_STORED
from carestory.services.codes import CODE_MAX


class ServiceQuerySet(models.QuerySet["Service"]):
    def open(self) -> ServiceQuerySet:
        return self.filter(is_open=True)

    def subtree_of(self, service: Service) -> ServiceQuerySet:
        """The service and everything below it."""
        return self.subtrees_of([service])

    def subtrees_of(self, roots: Iterable[Service]) -> ServiceQuerySet:
        """Every root and everything below each (none when there are no roots)."""
        condition = models.Q(pk__in=[])
        for root in roots:
            condition |= models.Q(path__startswith=root.path)
        return self.filter(condition)


class Service(models.Model):
    class Kind(models.TextChoices):
        REGION = "region", _("Region or commissioner")
        HEALTH_BOARD = "health_board", _("Health board")
        TRUST = "trust", _("NHS trust")
        HOSPITAL = "hospital", _("Hospital")
        SITE = "site", _("Site")
        DEPARTMENT = "department", _("Department or service")
        GP_PRACTICE = "gp_practice", _("GP practice")
        CARE_HOME = "care_home", _("Care home")
        PROVIDER = "provider", _("Independent or third-sector provider")
        OTHER = "other", _("Other")

    code = models.CharField(_("code"), max_length=CODE_MAX, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of primary keys, "/1/7/42/": subtree queries are one indexed prefix scan.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=MAX_STORED, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    closed_on = models.DateField(null=True, blank=True)
    # The organisation's own words, edited by its administrators; children inherit them
    # unless they set their own.
    description = models.TextField(_("description"), blank=True)
    website = models.URLField(_("website"), blank=True)
    # Provider review before publication (GP practices, care homes, independent providers):
    # None inherits from the parent; the import sets it by type.
    provider_review = models.BooleanField(null=True, blank=True)
    region = models.CharField(
        _("country site"), max_length=8, default="uk", help_text="uk, au, ie, ca ..."
    )
    source = models.CharField(
        max_length=30, blank=True, help_text="Where the row came from: an import file or staff."
    )
    # Lower-cased, punctuation-folded name, address and code words for search.
    search_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[ServiceQuerySet] = ServiceQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("services:detail", args=[self.code])

    def needs_provider_review(self) -> bool:
        """The nearest explicit setting up the tree decides; none means no review."""
        if self.provider_review is not None:
            return self.provider_review
        for ancestor in reversed(self.ancestors()):
            if ancestor.provider_review is not None:
                return ancestor.provider_review
        return False

    def ancestor_ids(self) -> list[int]:
        """Primary keys from the root down to this service itself."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def ancestors(self) -> list[Service]:
        """From the root down to the parent (not including this service)."""
        ids = self.ancestor_ids()[:-1]
        by_id = {s.pk: s for s in Service.objects.filter(pk__in=ids)}
        return [by_id[i] for i in ids if i in by_id]


class ServiceRedirect(models.Model):
    """An old code that now means another service (after a merge): its URLs redirect."""

    old_code = models.CharField(max_length=CODE_MAX, unique=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.old_code} -> {self.service.code}"


class Postcode(models.Model):
    """A full postcode or an outward/sector prefix ("TS18", "TS18 1") with its centre point,
    for "near TS18 1HU" searches. Loaded by import_ods from the postcode files."""

    class Kind(models.TextChoices):
        FULL = "full", "Full postcode"
        SECTOR = "sector", "Sector"
        DISTRICT = "district", "District"

    code = models.CharField(
        max_length=10,
        unique=True,
        help_text="The postcode's key (lib/postcodes.py): full postcodes and districts compact "
        '("TS181HU", "TS18"), sectors with their space ("TS18 1").',
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    latitude = models.FloatField()
    longitude = models.FloatField()

    def __str__(self) -> str:
        return self.code
