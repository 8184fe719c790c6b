"""API tokens in the admin: a superuser makes one (its secret shown once) and revokes it."""

from django.contrib import admin, messages
from django.utils import timezone

from .models import ApiToken
from .tokens import token_secret_new


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["user", "name"] + (self.readonly_fields if obj else [])

    def get_readonly_fields(self, request, obj=None):
        # A token's owner is fixed once made: a new owner would inherit its secret.
        return [*self.readonly_fields, "user"] if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            secret, stored = token_secret_new()
            for name, value in stored.items():
                setattr(obj, name, value)
            super().save_model(request, obj, form, change)
            self.message_user(
                request,
                f"The token's secret, shown only now (copy it): {secret}",
                messages.WARNING,
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        done = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{done} token(s) revoked.")

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: last_used_at stays to be read
