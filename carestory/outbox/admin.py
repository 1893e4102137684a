"""The outbox in the Django admin (an internal tool): read-only, plus "retry now"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from carestory.accounts.models import User
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_requeue

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[OutboxMessage]
else:  # ModelAdmin is generic only in django-stubs.
    _ModelAdmin = admin.ModelAdmin


@admin.register(OutboxMessage)
class OutboxMessageAdmin(_ModelAdmin):
    list_display = ("id", "kind", "job_name", "status", "attempts", "created_at", "sent_at")
    list_filter = ("kind", "status")
    search_fields = ("dedupe_key",)
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ["retry_now"]
    fields = (
        "kind",
        "dedupe_key",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_by",
        "lease_expires_at",
        "last_error",
        "created_at",
        "sent_at",
        "guard",
        "guard_args",
        "job_name",
        "payload",
        "to_email",
        "template",
        "language",
        "context",
        "purged_at",
        "subject",
        "body_text",
        "body_html",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMessage]:
        return super().get_queryset(request).defer("body_text", "body_html", "context")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    @admin.action(description=_("Retry now (failed or cancelled messages)"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        user = request.user if isinstance(request.user, User) else None
        count = outbox_requeue(ids=list(queryset.values_list("id", flat=True)), actor=user)
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
