"""Sign-in links for authors (no passwords) and account creation."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from carestory.accounts.models import SignInToken, User
from carestory.audit.services import audit_record
from carestory.lib.emails import normalise_email
from carestory.lib.tokens import hash_token, new_link_seed, secret_link, token_from_seed
from carestory.outbox.services import email_enqueue


def author_get_or_create(*, email: str) -> User:
    """The account for this address (normalised), created if new.

    Two first stories from one new address can arrive together (two forms): both find no
    account and both insert. The insert runs in a savepoint, so the loser's unique violation
    (whose message quotes the address) is caught here, its transaction goes on, and it takes
    the winner's account (visible once the winner commits: the insert waits for that)."""
    email = normalise_email(email)
    user = User.objects.get_by_email(email)
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return User.objects.create_user(email)
    except IntegrityError:
        user = User.objects.get_by_email(email)
        if user is None:
            raise
        return user


def sign_in_token_issue(
    *, user: User, purpose: str, story_id: int | None = None
) -> tuple[SignInToken, str]:
    """Create a single-use link token; returns the row and the link's *seed*.

    Put ``lib.tokens.secret_link(view_name, seed)`` in the email's context: the worker makes
    the token from the seed (an HMAC under the SECRET_KEY) when it sends the email. The database
    keeps only the token's hash, and the outbox forgets the seed once the email is sent.
    """
    seed = new_link_seed()
    token = SignInToken.objects.create(
        user=user,
        purpose=purpose,
        token_hash=hash_token(token_from_seed(seed)),
        story_id=story_id,
        expires_at=timezone.now() + timedelta(hours=settings.AUTHOR_LINK_HOURS),
    )
    return token, seed


def sign_in_token_peek(*, raw: str, purpose: str) -> SignInToken | None:
    """The token if it is valid (unused, unexpired, right purpose), without using it."""
    return (
        SignInToken.objects.filter(
            token_hash=hash_token(raw),
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .select_related("user")
        .first()
    )


def sign_in_token_redeem(*, raw: str, purpose: str) -> SignInToken | None:
    """Use the token once. A second use, an expired token or a wrong purpose gives None."""
    token = sign_in_token_peek(raw=raw, purpose=purpose)
    if token is None:
        return None
    now = timezone.now()
    used = SignInToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now)
    if used != 1:
        return None
    token.used_at = now
    if token.user.email_verified_at is None:
        token.user.email_verified_at = now
        token.user.save(update_fields=["email_verified_at"])
    return token


SIGN_IN_LINKS_PER_HOUR = 5


@transaction.atomic
def author_sign_in_request(*, email: str) -> None:
    """Email a sign-in link if the address belongs to an author. Says nothing either way.

    At most SIGN_IN_LINKS_PER_HOUR links an hour per address, so nobody can flood an inbox.
    Never to an account that signs in with a password (staff, moderators, members): an
    emailed link must not be a way into such an account, even with author rights.
    """
    user = User.objects.get_by_email(email)
    if user is None or not user.is_active or not user.stories.exists():
        return
    if user.signs_in_with_password:
        return
    recent = SignInToken.objects.filter(
        user=user,
        purpose=SignInToken.Purpose.SIGN_IN,
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    if recent >= SIGN_IN_LINKS_PER_HOUR:
        return
    token, seed = sign_in_token_issue(user=user, purpose=SignInToken.Purpose.SIGN_IN)
    email_enqueue(
        dedupe_key=f"sign-in:{token.pk}",
        to=user.email,
        template="author_sign_in",
        context={
            "link": secret_link("accounts:sign_in_confirm", seed),
            "hours": settings.AUTHOR_LINK_HOURS,
        },
    )


@transaction.atomic
def moderator_add(*, email: str, password: str, senior: bool = False, full_name: str = "") -> User:
    """Create or promote a moderator account (password required: moderators sign in)."""
    user = author_get_or_create(email=email)
    validate_password(password, user)
    user.set_password(password)
    user.is_moderator = True
    user.is_senior_moderator = senior or user.is_senior_moderator
    if full_name:
        user.full_name = full_name
    user.email_verified_at = user.email_verified_at or timezone.now()
    user.save()
    audit_record(
        actor=None,
        action="account.moderator_add",
        obj=user,
        object_type="user",
        changes={"senior": user.is_senior_moderator},
    )
    return user
