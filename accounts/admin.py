from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    UserChangeForm,
)
from django.db import transaction

from accounts import services
from accounts.models import AuthEvent, User


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class PasswordForm(AdminPasswordChangeForm):
    """The admin's set-password page. A password set by staff ends every earlier
    token and session at once, as any password change must (a stolen refresh
    token would otherwise outlive the reset meant to lock its thief out)."""

    def save(self, commit=True):
        with transaction.atomic():
            user = super().save(commit=commit)
            if commit:
                services.sign_out_all(user=user)
        return user


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    change_password_form = PasswordForm
    list_display = (
        "username",
        "email",
        "is_active",
        "email_verified",
        "is_staff",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "email_verified", DeletedFilter)
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("-date_joined",)
    readonly_fields = (
        "id",
        "date_joined",
        "last_login",
        "deleted_at",
        "token_generation",
    )
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("id", "username", "email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "email_verified", "deleted_at")}),
        (
            "Permissions",
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Audit", {"fields": ("date_joined", "last_login", "token_generation")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        with transaction.atomic():
            if deactivating:
                # Through the service, so every token dies now rather than at its
                # expiry, and stays dead if the account is reactivated later.
                services.update_user(
                    actor=request.user,
                    user=User.objects.get(pk=obj.pk),
                    is_active=False,
                )
                obj.refresh_from_db(fields=["token_generation"])
            super().save_model(request, obj, form, change)


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "user", "ip")
    list_filter = ("type",)
    search_fields = ("user__username", "user__email", "ip")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


from accounts import admin_tasks  # noqa: E402, F401 (registers the task admin)
