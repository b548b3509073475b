"""Groups in the admin: they grant rights, so only superusers edit them, and
every change is recorded by the service."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.db import transaction

from accounts import services
from accounts.http import client_of
from accounts.request_assurance import assurance_of

if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class AuditedGroupAdmin(GroupAdmin):
    """Groups grant rights to every member: only superusers edit them, through
    the service that records each change."""

    def has_add_permission(self, request):
        return services.may_grant_rights(request.user) and super().has_add_permission(
            request
        )

    def has_change_permission(self, request, obj=None):
        return services.may_grant_rights(
            request.user
        ) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return services.may_grant_rights(
            request.user
        ) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.save_group(
            actor=request.user,
            group=obj,
            permissions=form.cleaned_data["permissions"],
            client=client_of(request),
            assurance=assurance_of(request),
        )

    def save_related(self, request, form, formsets, change):
        # The permissions were set by save_group; only inlines remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        services.delete_group(
            actor=request.user,
            group=obj,
            client=client_of(request),
            assurance=assurance_of(request),
        )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for group in queryset:
                self.delete_model(request, group)
