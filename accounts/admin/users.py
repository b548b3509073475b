"""Accounts in the admin: every change goes through the services, under the
same authority rule (services.may_manage) as the API's staff endpoints."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from accounts import services
from accounts.admin.paging import EstimatedCountPaginator
from accounts.errors import PermissionDenied, ReauthenticationRequired, ServiceError
from accounts.http import client_of
from accounts.models import EMAIL_MAX_LENGTH, User
from accounts.request_assurance import assurance_of

# Every field of the change form that grants rights: read-only to anyone but
# a superuser.
RIGHTS_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class UserEditForm(UserChangeForm):
    # Staff never choose a password for someone (they send a reset link), so
    # the form has no password field, nor the link to a set-password page.
    password = None

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class FactorResetForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="Why the owner needs it and how you checked who asked: it is "
        "recorded and quoted in the email to the owner.",
    )


class ReplaceAddressForm(forms.Form):
    email = forms.EmailField(label="New address", max_length=EMAIL_MAX_LENGTH)
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )

    def add_service_error(self, error: ServiceError) -> None:
        for field, items in (
            error.errors or {None: [(error.message, error.code)]}
        ).items():
            for message, _code in items:
                self.add_error(field if field in self.fields else None, message)


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.live()
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = (
        "username",
        "email",
        "is_active",
        "email_verified",
        "is_staff",
        "tier",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "email_verified", DeletedFilter, "tier")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("-date_joined",)
    readonly_fields = (
        "passkey_list",
        "id",
        "pending_email",
        "date_joined",
        "last_login",
        "deleted_at",
        "token_generation",
        "password_status",
    )
    show_full_result_count = False
    # Facet counts are one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_select_related = ("tier",)
    actions = [
        "activate",
        "deactivate",
        "send_password_reset",
        "revoke_tokens",
        "mark_email_verified",
        "restore",
        "start_factor_reset",
        "replace_address",
    ]
    fieldsets = (
        (
            None,
            {"fields": ("id", "username", "email", "pending_email", "password_status")},
        ),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "email_verified", "deleted_at", "tier")}),
        (
            "Permissions",
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Audit", {"fields": ("date_joined", "last_login", "token_generation")}),
        ("Passkeys", {"fields": ("passkey_list",)}),
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
        """Through the services, so an account made or edited here follows the
        API's rules: a signup event and, without a password, a set-password
        email; a new address unverified until its owner confirms it (unless
        staff tick "email verified" in the same save: a box left ticked from
        the old address does not count); deactivation ending every token."""
        client = client_of(request)
        if not change:
            password = (
                form.cleaned_data.get("password1")
                if form.cleaned_data.get("set_usable_password")
                else None
            )
            services.add_user(
                actor=request.user,
                user=obj,
                password=password,
                client=client,
                assurance=assurance_of(request),
            )
            return
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.STAFF_FIELDS
        }
        if changes:
            services.update_user(
                actor=request.user,
                user=User.objects.get(pk=obj.pk),
                client=client,
                assurance=assurance_of(request),
                **changes,
            )
            obj.refresh_from_db(fields=[*changes, "email_verified", "token_generation"])

    def save_related(self, request, form, formsets, change):
        """Groups and permissions through the service, which records who granted
        or removed what (the form only has them for superusers)."""
        if "groups" not in form.fields:
            super().save_related(request, form, formsets, change)
            return
        services.set_user_rights(
            actor=request.user,
            user=form.instance,
            groups=form.cleaned_data["groups"],
            permissions=form.cleaned_data["user_permissions"],
            client=client_of(request),
            assurance=assurance_of(request),
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.display(description="passkeys")
    def passkey_list(self, obj):
        """The account's passkeys: names and dates, never key material. Each
        has a Remove button that posts this page's form (and its CSRF token)
        to remove_passkey_view; the service decides who may."""
        passkeys = list(services.list_passkeys(user=obj)) if obj.pk else []
        if not passkeys:
            return "None."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>"
            '<button type="submit" class="button" formmethod="post" '
            'formaction="{}" formnovalidate>Remove</button></td></tr>',
            (
                (
                    passkey.name,
                    date_format(passkey.created_at, "DATETIME_FORMAT"),
                    date_format(passkey.last_used_at, "DATETIME_FORMAT")
                    if passkey.last_used_at
                    else "never",
                    reverse(
                        "admin:accounts_user_remove_passkey",
                        args=[obj.pk, passkey.pk],
                    ),
                )
                for passkey in passkeys
            ),
        )
        return format_html(
            "<table><thead><tr><th>Name</th><th>Added</th><th>Last used</th>"
            "<th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def get_urls(self):
        return [
            path(
                "<str:user_id>/passkeys/<str:passkey_id>/remove/",
                self.admin_site.admin_view(self.remove_passkey_view),
                name="accounts_user_remove_passkey",
            ),
            *super().get_urls(),
        ]

    def remove_passkey_view(self, request, user_id, passkey_id):
        """Staff removing one passkey of an account (POST only): the actor's
        recent sign-in (else the middleware sends them to reauthenticate),
        the authority rule, the owner's MFA_REQUIRED rule; audited with the
        actor, the owner emailed."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        user = self.get_object(request, user_id)
        if user is None or not self.has_view_or_change_permission(request, user):
            raise Http404("No such account.")
        try:
            services.remove_passkey_as_staff(
                actor=request.user,
                user=user,
                passkey_id=passkey_id,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except ReauthenticationRequired:
            raise
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, "Passkey removed.", messages.SUCCESS)
        return redirect("admin:accounts_user_change", user.pk)

    @admin.display(description="password")
    def password_status(self, obj):
        state = "Set." if obj.has_usable_password() else "None set."
        return (
            f"{state} Staff never choose a password: the action "
            "“Email a password reset link” lets the owner set one."
        )

    def user_change_password(self, request, id, form_url=""):
        """Staff change their own password on the account page, through the same
        service as everyone (notice emailed, other sessions ended); for anyone
        else the page does not exist: staff send a reset link instead."""
        if str(id) == str(request.user.pk):
            return redirect("accounts:change_password")
        raise Http404("Staff do not set passwords.")

    # The authority rule (services.may_manage) decides per account; Django's
    # model permissions still decide whether staff may change accounts at all.
    def has_change_permission(self, request, obj=None):
        if obj is not None and not services.may_manage(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Also asked for every account in a bulk delete_selected, which is
        # then refused as a whole when one of them is protected.
        if obj is not None and not services.may_delete(request.user, obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_user(
            actor=request.user, user=obj, assurance=assurance_of(request)
        )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for user in queryset.order_by("pk"):
                services.delete_user(
                    actor=request.user, user=user, assurance=assurance_of(request)
                )

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if not services.may_grant_rights(request.user):
            # Mass assignment of rights: Django's UserAdmin lets anyone with the
            # change permission tick is_superuser, on others and on themselves.
            readonly = (*readonly, *RIGHTS_FIELDS)
        return readonly

    # Actions: each one calls a service per account, which records the event.
    @admin.action(description="Activate selected accounts", permissions=["change"])
    def activate(self, request, queryset):
        self._act(request, queryset, services.activate_user, "activated")

    @admin.action(
        description="Deactivate selected accounts (ends their sessions)",
        permissions=["change"],
    )
    def deactivate(self, request, queryset):
        self._act(
            request,
            queryset.filter(is_active=True),
            services.deactivate_user,
            "deactivated",
        )

    @admin.action(
        description="Email a password reset link to selected accounts",
        permissions=["change"],
    )
    def send_password_reset(self, request, queryset):
        self._act(
            request,
            queryset,
            services.send_password_reset_link,
            "sent a password reset link",
        )

    @admin.action(
        description="Sign selected accounts out everywhere (revoke all tokens)",
        permissions=["change"],
    )
    def revoke_tokens(self, request, queryset):
        self._act(
            request, queryset, services.revoke_user_tokens, "signed out everywhere"
        )

    @admin.action(
        description="Mark email verified for selected accounts",
        permissions=["change"],
    )
    def mark_email_verified(self, request, queryset):
        self._act(
            request,
            queryset,
            services.mark_email_verified,
            "marked as having a verified email",
        )

    @admin.action(
        description="Restore selected deleted accounts", permissions=["change"]
    )
    def restore(self, request, queryset):
        self._act(request, queryset, services.restore_user, "restored")

    @admin.action(
        description="Start a two-factor reset (the owner accepts by email)",
        permissions=["change"],
    )
    def start_factor_reset(self, request, queryset):
        """First shows a form asking for the reason; its submission starts a
        reset per account through services.start_factor_reset."""
        form = FactorResetForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/accounts/user/start_factor_reset.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Start a two-factor reset",
                    "opts": self.model._meta,
                    "users": queryset.order_by("pk"),
                    "form": form,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        started = 0
        for user in queryset.order_by("pk"):
            try:
                services.start_factor_reset(
                    actor=request.user,
                    user=user,
                    reason=form.cleaned_data["reason"],
                    assurance=assurance_of(request),
                    client=client_of(request),
                )
            except ReauthenticationRequired:
                # ReauthenticationMiddleware sends the browser to prove a
                # factor again and back to this list.
                raise
            except ServiceError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
                continue
            started += 1
        if started:
            self.message_user(
                request,
                f"{started} account(s) sent a two-factor reset link.",
                messages.SUCCESS,
            )
        return None

    def has_replace_address_permission(self, request):
        return services.may_replace_email(request.user)

    @admin.action(
        description="Replace the address at once (superusers; give a reason)",
        permissions=["replace_address"],
    )
    def replace_address(self, request, queryset):
        """For an owner who lost the old mailbox: asks for the new address and a
        reason on a page of its own, then switches (replace_email)."""
        if queryset.count() != 1:
            self.message_user(
                request,
                "Select exactly one account to replace its address.",
                messages.ERROR,
            )
            return None
        account = queryset.get()
        form = ReplaceAddressForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                services.replace_email(
                    actor=request.user,
                    user=account,
                    client=client_of(request),
                    assurance=assurance_of(request),
                    **form.cleaned_data,
                )
            except ReauthenticationRequired:
                raise
            except ServiceError as error:
                form.add_service_error(error)
            else:
                self.message_user(
                    request,
                    f"{account}: address replaced; every session ended and a "
                    "verification link sent to the new address.",
                    messages.SUCCESS,
                )
                return None
        return TemplateResponse(
            request,
            "admin/accounts/user/replace_address.html",
            {
                **self.admin_site.each_context(request),
                "title": "Replace the address",
                "opts": self.model._meta,
                "account": account,
                "form": form,
            },
        )

    def _act(self, request, queryset, service, done: str) -> None:
        changed = unchanged = refused = 0
        client = client_of(request)
        assurance = assurance_of(request)
        # Before any account is touched: the refusal (a redirect to
        # reauthenticate, see ReauthenticationMiddleware) applies to the whole
        # action, not to each account in turn.
        services.require_recent_auth(user=request.user, assurance=assurance)
        for user in queryset.order_by("pk"):
            try:
                result = service(
                    actor=request.user, user=user, client=client, assurance=assurance
                )
            except PermissionDenied:
                refused += 1
                continue
            except ServiceError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
                continue
            if result is False:
                unchanged += 1
            else:
                changed += 1
        self.message_user(request, f"{changed} account(s) {done}.", messages.SUCCESS)
        if unchanged:
            self.message_user(
                request,
                f"{unchanged} account(s) left as they were (nothing to do).",
                messages.INFO,
            )
        if refused:
            self.message_user(
                request,
                f"{refused} staff account(s) skipped: only a superuser may do that.",
                messages.WARNING,
            )
