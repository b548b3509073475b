import factory
from rest_framework.test import APIClient

from accounts.models import User

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    password = factory.django.Password(PASSWORD)
    email_verified = True


def api_client_signed_in_as(user: User, password: str = PASSWORD) -> APIClient:
    """An API client holding a real access token from /auth/signin, so tests go
    through the same authentication a client does (not force_authenticate)."""
    client = APIClient()
    response = client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    return client
