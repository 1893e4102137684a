"""The service tree: organisations, sites, departments, GP practices, care homes..."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ServiceQuerySet(models.QuerySet["Service"]):
    def open(self) -> ServiceQuerySet:
        return self.filter(is_open=True)

    def subtree_of(self, service: Service) -> ServiceQuerySet:
        """The service and everything below it."""
        return self.filter(path__startswith=service.path)


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

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of primary keys, "/1/7/42/": subtree queries are one indexed prefix scan.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[ServiceQuerySet] = ServiceQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("services:detail", args=[self.code])

    def ancestor_ids(self) -> list[int]:
        """Primary keys from the root down to this service itself."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def ancestors(self) -> list[Service]:
        """From the root down to the parent (not including this service)."""
        ids = self.ancestor_ids()[:-1]
        by_id = {s.pk: s for s in Service.objects.filter(pk__in=ids)}
        return [by_id[i] for i in ids if i in by_id]
