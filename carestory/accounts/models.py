"""People: story authors (no password, sign in by emailed link), staff and moderators."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from carestory.lib.emails import normalise_email


class NormalisedEmailField(models.EmailField):  # type: ignore[type-arg]
    """An address always stored and looked up in ``lib.emails.normalise_email`` form.

    ``pre_save`` normalises the instance (save, bulk_create) and ``get_prep_value`` every value
    sent to the database (``update()``, filters), so no path can store or compare a variant.
    """

    def pre_save(self, model_instance: Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if isinstance(value, str):
            value = normalise_email(value)
            setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return normalise_email(value) if isinstance(value, str) else value


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email or not normalise_email(email):
            raise ValueError("An email address is required")
        user = self.model(email=normalise_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_email(self, email: str) -> User | None:
        return self.filter(email=normalise_email(email)).first()

    def get_by_natural_key(self, username: str | None) -> User:
        # Both password sign-ins (staff and admin) look the account up here.
        return self.get(email=normalise_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    email = NormalisedEmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can use the internal admin site.")
    is_moderator = models.BooleanField(default=False)
    is_senior_moderator = models.BooleanField(default=False)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")

    def __str__(self) -> str:
        return self.full_name or f"user {self.pk}"

    def clean(self) -> None:
        super().clean()
        self.email = normalise_email(self.email)

    @property
    def moderates(self) -> bool:
        """An active moderator (senior or not): may see the workbench and moderate. The one
        test of "is a moderator" (the workbench's decorator, the services, the lifecycle)."""
        return self.is_active and self.is_moderator

    @property
    def signs_in_with_password(self) -> bool:
        """Staff, moderators, administrators and members of any subscription: their sessions
        come only from a password sign-in, never from an emailed link."""
        return (
            self.is_staff
            or self.is_superuser
            or self.is_moderator
            or self.is_senior_moderator
            or self.memberships.exists()
        )


class SignInToken(models.Model):
    """A single-use emailed link. Only the hash is stored."""

    class Purpose(models.TextChoices):
        VERIFY_STORY = "verify_story", _("Confirm a story")
        SIGN_IN = "sign_in", _("Sign in")
        ANSWER_QUESTION = "answer_question", _("Answer a moderator's question")
        PASSWORD_RESET = "password_reset", _("Choose a new password")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_tokens")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    story = models.ForeignKey(
        "stories.Story", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} token {self.pk}"


class RateLimitBucket(models.Model):
    """One client's request count in one window of one rate limit (``lib/ratelimit.py``).

    ``key`` is a hash of (limit, client, window number); rows are counted with one atomic
    ``INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1`` and purged once expired."""

    key = models.CharField(max_length=64, unique=True)
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"rate limit bucket {self.pk}: {self.hits}"


class MFADevice(models.Model):
    """A user's TOTP authenticator (``accounts/mfa.py``). One per user; ``confirmed_at`` is set
    once a code from it has been typed back (until then it is an enrolment in progress).

    ``last_step`` is the last TOTP time step accepted: a code of that step or an earlier one
    is refused, so a code seen over someone's shoulder cannot be replayed. The secret is never
    logged, audited or shown again after enrolment."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="mfa_device")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "enrolling"
        return f"authenticator of user {self.user_id} ({state})"


class RecoveryCode(models.Model):
    """One single-use recovery code, stored as an HMAC (``accounts/mfa.py``); shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_once")
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of user {self.user_id}"


class SecondFactorAttempt(models.Model):
    """One code typed at the second sign-in step: the throttle's counts (``accounts/throttle``,
    the same design as the password step's ``LoginAttempt``). Never holds the code."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "pending"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        REFUSED = "refused", "refused (throttled)"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    client_key = models.CharField(max_length=64)
    trusted_device = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)

    class Meta:
        indexes = [
            models.Index(fields=["user", "at"]),
            models.Index(fields=["client_key", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} second factor {self.outcome}"
