"""The warehouse's reads: serializers over its models and selectors, views, routes."""
