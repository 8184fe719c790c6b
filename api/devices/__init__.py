"""The devices' reads: serializers over its models and selectors, views, routes."""
