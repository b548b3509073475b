from django.contrib import admin

from accounts.models import Tier


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    """Service levels. Plain edits: a tier is configuration, not an account, and
    a change takes effect on each account's next API call."""

    list_display = ("name", "rate_limit_per_minute")
    search_fields = ("name",)
    ordering = ("name",)
