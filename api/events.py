"""`GET /api/events/?after=<cursor>&limit=`: the event feed, read from where a reader stopped.

Over `warehouse.events.events_after`, the one reader of the outbox: ordered
by transaction, it holds back the events of transactions still running, so a
reader that keeps the `next` cursor sees every event once, with no gap and no
duplicate. `next` is answered on every page, an empty one too (it is then the
cursor sent): the reader stores it and asks again later. A cursor the feed
did not make is `InvalidCursor`, a domain error on `after` (400).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from warehouse.events import FEED_LIMIT_MAX, events_after
from warehouse.models import Event

from .views import ApiMixin

DEFAULT_LIMIT = 100


class FeedQuery(serializers.Serializer):
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text="The `next` of the page read last; none to read from the start.",
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=FEED_LIMIT_MAX, default=DEFAULT_LIMIT
    )


class EventOut(serializers.ModelSerializer):
    """One event: what happened (`kind`), to what (`subject`), its ledger line and document."""

    kind = serializers.CharField(read_only=True, help_text="e.g. `movement.booked`.")
    movement_id = serializers.IntegerField(read_only=True, allow_null=True)
    document = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "kind", "created_at", "subject", "movement_id", "document", "actor"]
        fields += ["data"]
        read_only_fields = fields

    def get_document(self, event) -> dict[str, str] | None:
        if not event.document_type:
            return None
        return {"type": event.document_type, "number": event.document_number}

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor_id else None


class EventPageOut(serializers.Serializer):
    results = EventOut(many=True, read_only=True)
    next = serializers.CharField(
        read_only=True, allow_null=True, help_text="Pass as `after`; null before any event."
    )


class EventFeed(ApiMixin, generics.GenericAPIView):
    """The events after a cursor, oldest first; `next` is where to continue.

    Permission: a reader of the ledger (`warehouse.view_movement`). Every
    event is a movement, a device's history line or a document step, and most
    carry the ledger line they belong to: the feed tells what the activity
    page tells, so it asks what that page asks. Both roles read the ledger.
    """

    permissions_by_method = {"GET": ("warehouse.view_movement",)}
    serializer_class = EventOut

    @extend_schema(parameters=[FeedQuery], responses=EventPageOut)
    def get(self, request):
        query = FeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        after = query.validated_data.get("after") or None
        events, cursor = events_after(after, query.validated_data["limit"])
        return Response({"results": EventOut(events, many=True).data, "next": cursor})
