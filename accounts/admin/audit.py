"""The audit trail in the admin: read-only, paged without full counts."""

from django.contrib import admin

from accounts.admin.paging import EstimatedCountPaginator
from accounts.models import AuthEvent


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "user", "ip")
    list_filter = ("type",)
    search_fields = ("user__username", "user__email", "ip")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
