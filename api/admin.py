"""The API in the admin: tokens (a secret shown once, revoked) and webhook subscriptions."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from warehouse.events import events_head
from warehouse.models import Event

from .models import ApiToken, WebhookDelivery, WebhookSubscription
from .tokens import token_secret_new
from .webhooks import webhook_failures_reset


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


# --------------------------------------------------------------------------- webhooks

LOG_ROWS = 50  # deliveries shown on a subscription's page; the rest under Webhook deliveries


class WebhookSubscriptionForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        choices=Event.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind, including kinds added later.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "kinds", "active"]


class WebhookSubscriptionAddForm(WebhookSubscriptionForm):
    start = forms.ChoiceField(
        choices=[
            ("now", "With the events from now on"),
            ("beginning", "With every past event, from the first"),
        ],
        initial="now",
        widget=forms.RadioSelect,
        help_text="Where delivery starts.",
    )


def _took(duration) -> str:
    return f"{duration.total_seconds() * 1000:.0f} ms" if duration else ""


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active", "kinds_shown", "failures", "next_attempt_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    actions = ["reset_failures"]
    state_fields = ["secret", "created_at", "failures", "next_attempt_at", "cursor", "log"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = WebhookSubscriptionForm if obj else WebhookSubscriptionAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "kinds", "active"]
        return [*fields, *self.state_fields] if obj else [*fields, "start"]

    def get_readonly_fields(self, request, obj=None):
        return self.state_fields if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            # The delivery command moves cursor, failures and next attempt meanwhile: keep them.
            obj.save(update_fields=WebhookSubscriptionForm.Meta.fields)
            return
        obj.cursor = "" if form.cleaned_data["start"] == "beginning" else events_head()
        super().save_model(request, obj, form, change)

    @admin.display(description="kinds")
    def kinds_shown(self, obj):
        return ", ".join(obj.kinds) if obj.kinds else "every kind"

    @admin.display(description=f"delivery log (the last {LOG_ROWS}, newest first)")
    def log(self, obj):
        rows = obj.deliveries.select_related("event").order_by("-id")[:LOG_ROWS]
        everything = reverse("admin:api_webhookdelivery_changelist")
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} #{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    d.pk,
                    localtime(d.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                    d.event.kind,
                    d.event_id,
                    d.attempt,
                    "delivered" if d.delivered else "failed",
                    d.status or "—",
                    d.error or _took(d.duration),
                )
                for d in rows
            ),
        )
        if not body:
            return "Nothing delivered yet."
        return format_html(
            "<table><thead><tr><th>delivery</th><th>started</th><th>event</th><th>attempt</th>"
            "<th>result</th><th>status</th><th>error or time</th></tr></thead>"
            '<tbody>{}</tbody></table><p><a href="{}?subscription__id__exact={}">'
            "Every delivery of this subscription</a></p>",
            body,
            everything,
            obj.pk,
        )

    @admin.action(description="Reset failures (deliver again now)")
    def reset_failures(self, request, queryset):
        done = webhook_failures_reset(queryset)
        self.message_user(request, f"{done} subscription(s) due again now.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The whole log, read-only: written by `manage.py deliver_webhooks` only."""

    list_display = [
        "id",
        "started_at",
        "subscription",
        "event_kind",
        "event",
        "attempt",
        "delivered",
        "status",
        "error",
    ]
    list_filter = ["delivered", "subscription"]
    list_select_related = ["subscription", "event"]
    show_full_result_count = False

    @admin.display(description="kind")
    def event_kind(self, obj):
        return obj.event.kind

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
