from django.contrib.auth.backends import ModelBackend

from accounts.models import User

NOT_LOOKED_UP = object()


class EmailOrUsernameBackend(ModelBackend):
    """Authenticate with an email address or a username, ignoring case.

    Unknown (and soft-deleted) accounts still pay for one password hash, as
    Django's ModelBackend does, so response time does not reveal which accounts
    exist. Inactive accounts are returned after a correct password so that the
    caller can say "inactive" only to someone who knows the password.
    """

    def authenticate(
        self,
        request,
        username=None,
        password=None,
        email=None,
        looked_up=NOT_LOOKED_UP,
        **kwargs,
    ):
        """`looked_up`: the account services.sign_in already found for this
        identifier (None when none), for its limits; one query, not two."""
        identifier = username or email
        if not identifier or password is None:
            return None
        if looked_up is NOT_LOOKED_UP:
            user = User.objects.for_login(identifier)
        else:
            user = looked_up
        if user is None:
            # Timing: hash anyway so a miss costs what a hit costs.
            User().set_password(password)
            return None
        if user.check_password(password):
            return user
        return None

    def user_can_authenticate(self, user):
        # ModelBackend.get_user asks this too: a web session of an account
        # deactivated or deleted since is refused on its next request.
        return user.is_usable
