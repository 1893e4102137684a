"""Names that vulture (the dead-code check in `make lint`) cannot see used, and why each is used.

Vulture reads Python only and matches by name: a definition counts as used when the same name
is read anywhere it scans. Django, templates and some libraries read names it cannot see; they
are listed here, one line each, read as attributes of ``_`` (this file is scanned, never run).
Patterns and decorators that cover whole families (form ``clean_*``, ``*Middleware``,
``@register.*``...) are in ``[tool.vulture]`` in pyproject.toml, with the settings.

When the check fails: delete what nothing uses; if something does use it, add its name to the
group below that says how, or start a group that says so. A name listed here hides every
definition of that name, so list the rarest name you can.
"""

_ = object()

# Settings: Django and its apps read them by name (django.conf.settings).
_.ALLOWED_HOSTS
_.AUTH_PASSWORD_VALIDATORS
_.CACHES
_.CONTENT_SECURITY_POLICY
_.CSRF_COOKIE_HTTPONLY
_.CSRF_COOKIE_NAME
_.CSRF_COOKIE_SECURE
_.CSRF_TRUSTED_ORIGINS
_.DATA_UPLOAD_MAX_MEMORY_SIZE
_.DATA_UPLOAD_MAX_NUMBER_FIELDS
_.DEFAULT_AUTO_FIELD
_.EMAIL_BACKEND
_.EMAIL_FILE_PATH
_.EMAIL_HOST
_.EMAIL_HOST_PASSWORD
_.EMAIL_HOST_USER
_.EMAIL_PORT
_.EMAIL_TIMEOUT
_.EMAIL_USE_TLS
_.INSTALLED_APPS
_.LANGUAGES
_.LOCALE_PATHS
_.LOGGING
_.LOGIN_REDIRECT_URL
_.LOGIN_URL
_.PASSWORD_HASHERS
_.ROOT_URLCONF
_.SECURE_CONTENT_TYPE_NOSNIFF
_.SECURE_CROSS_ORIGIN_OPENER_POLICY
_.SECURE_HSTS_INCLUDE_SUBDOMAINS
_.SECURE_HSTS_SECONDS
_.SECURE_PROXY_SSL_HEADER
_.SECURE_REFERRER_POLICY
_.SECURE_SSL_REDIRECT
_.SERVER_EMAIL
_.SESSION_COOKIE_HTTPONLY
_.SESSION_COOKIE_SAMESITE
_.SESSION_ENGINE
_.STATICFILES_DIRS
_.STATIC_ROOT
_.STATIC_URL
_.STORAGES
_.TEMPLATES
_.TIME_ZONE
_.USE_I18N
_.USE_TZ
_.WHITENOISE_USE_FINDERS
_.WSGI_APPLICATION
_.X_FRAME_OPTIONS
# Ours, read by lib/ratelimit.py through the setting's name in a string.
_.RATE_LIMIT_API_PER_MINUTE
_.RATE_LIMIT_GUIDANCE_PER_MINUTE
_.RATE_LIMIT_SIGN_IN_LINKS_PER_HOUR
_.RATE_LIMIT_STORIES_PER_HOUR
_.RATE_LIMIT_SUGGEST_PER_MINUTE
# Named by dotted path in settings.LOGGING ("()": ...).
_.JsonFormatter
_.RequestIdFilter
_.ScrubFilter

# Django hooks, read by the framework: apps (AppConfig.ready), management commands, migrations,
# models' Meta and managers, the custom user model, admin, url namespaces, class-based views,
# feeds, forms, the WSGI entry point.
_.ready
_.Command
_.help
_.add_arguments
_.dependencies
_.Meta
_.abstract
_.constraints
_.get_latest_by
_.indexes
_.ordering
_.verbose_name
_.verbose_name_plural
_.use_in_migrations
_.create_superuser
_.get_by_natural_key
_.pre_save  # a model field's hook
_.EMAIL_FIELD
_.REQUIRED_FIELDS
_.USERNAME_FIELD
_.date_hierarchy
_.list_display
_.list_filter
_.readonly_fields
_.search_fields
_.login_form  # admin.site
_.site_header  # admin.site
_.app_name
_.authentication_form  # LoginView
_.form_valid
_.redirect_authenticated_user
_.template_name
_.feed_type  # syndication Feed
_.subtitle
_.widget  # a form field class's default widget
_.valid_value  # ChoiceField's check of a choice (responses.forms._AnyMemberField)
_.application  # wsgi.py, named by WSGI_APPLICATION and gunicorn

# Model fields: columns, written through keyword arguments (create(x=...), update(x=...)) and
# read by templates, the admin or queries by string. A column goes with a migration, not here.
_.answered_at
_.approved_at
_.asked_at
_.changed_at
_.consent_given_at
_.date_joined
_.decided_at
_.decided_by
_.due_at
_.edited_by_moderator
_.first_read_at  # StoryRead (workspace): written by keyword, shown by templates
_.heard_at  # StoryHeard (workspace): written by keyword
_.email_hash
_.last_error
_.last_read_at
_.lease_expires_at
_.next_attempt_at
_.provider_review_due_at
_.purged_at
_.sent_at
_.started_at  # AnsweringMarker (workspace): written by keyword, compared by queries
_.on_behalf_of  # Response: written by keyword; templates read on_behalf_of_id
_.responder_about  # Response: written by keyword, shown by responses/_responder.html
_.responder_department  # Response: as responder_about
_.text_key
_.token_hash
_.trusted_device
_.updated_at
_.used_at
# Choices: offered by forms and stored as values.
_.POSITIVE  # StaffTag.Polarity (workspace)
_.NEGATIVE
_.AGE_16_24
_.AGE_25_34
_.AGE_35_44
_.AGE_45_54
_.AGE_55_64
_.AGE_65_74
_.AGE_75_84
_.AGE_85_PLUS
_.UNDER_16
_.SITE  # Service.Kind
# Form fields, read back from cleaned_data["..."].
_.service_codes

# Read only by templates ({{ row.author_answered }}...).
_.answered_percent  # services/detail.html
_.author_answered  # moderation/_story_rows.html
_.removable  # workspace/story.html: a staff tag the user may remove
_.body_diff  # moderation/story.html
_.claim_active  # moderation/_story_rows.html
_.label_name  # moderation/story.html
_.mine  # moderation/story.html
_.min_published  # responses/_prediction.html
_.title_diff  # moderation/story.html

# Fields of records returned to callers as a whole (a TypedDict, a pydantic schema serialised to
# JSON, a dataclass turned into a dict or read by the import command's caller and tests).
_.failed  # OutboxBacklog
_.oldest_due_lag_seconds
_.oldest_pending_age_seconds
_.sending
_.model_config  # pydantic
_.organisation  # ResponseOut
_.response_count  # StoryOut
_.subscriptions  # synthetic Summary
_.written  # ImportSummary

# Called by a library: gunicorn reads its config module's names; ninja's throttle interface;
# Django's signal receivers take sender=; aiosmtpd's handler hooks; urllib's redirect handler.
_.access_log_format
_.accesslog
_.atoms_wrapper_class
_.logger_class
_.allow_request
_.process_exception
_.sender
_.rcpt_options
_.server
_.redirect_request  # bench/run.py

# Kept for operators and tests, not called by the application itself.
_.outbox_backlog  # docs/operations.md: watch the backlog
_.posts_delete  # bench/run.py runs it in a subprocess, by a string of code
_.parse_source  # the automod dev set's source format; tests keep the .jsonl in step with it
_.dataset_digest  # the synthetic data's determinism, checked by its tests
_.word_diff  # moderation/diff.py's documented entry point, tested directly
_.author_role_labels  # templates/alerts/_summary.html
_.event_labels  # templates/alerts/_summary.html
_.digested_until  # read and written by its ORM keyword names (alerts/digests.py)
_.alert_default_create  # a new responder's first alert: staff_add and invitations call it
_.last_step  # MFADevice: written and compared by ORM keyword names (accounts/mfa.py)
_.code_hash  # RecoveryCode: looked up by ORM keyword names (accounts/mfa.py)
_.new_password1  # NewPasswordForm's fields, read through cleaned_data and the template
_.new_password2
_.REGISTRATION  # Subscription.Level: a choice, stored as its value
_.frozen_at  # Membership: compared by ORM keyword names (subscriptions/selectors.py)
_.uploaded_by  # MemberUpload: written by keyword (subscriptions/services.py), read in the admin
_.invited_by  # Invitation: written by keyword (subscriptions/services.py), read in the admin
_.merged_into  # bulk.CheckedRow: stored as JSON, read by templates/subscriptions/upload_preview
_.starts_on  # Subscription's term: compared by ORM keyword names (subscriptions/models.py)
_.ends_on
_.password1  # AcceptForm: read through cleaned_data and the template
_.password2  # AcceptForm: compared in its clean(), read through cleaned_data and the template
