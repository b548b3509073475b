"""OpenAPI extensions: teach drf-spectacular about our bearer authentication."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class BearerScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "bearer"
