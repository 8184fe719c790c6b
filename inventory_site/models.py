"""No models. The module exists because Django sends post_migrate only to apps that
have one, and this app's handler grants the application role its rights (apps.py)."""
