"""Authentication that does not cost a query on every request.

Every signed-in request loads its user. The progress poll is the most frequent request
the studio serves, so the user row is cached briefly and dropped whenever it is saved
or deleted (a password change, a deactivation in the admin). A change made behind the
ORM's back (a bulk ``update()``) is seen within ``USER_CACHE_SECONDS``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

USER_CACHE_SECONDS = 30


def _key(user_id: object) -> str:
    return f"studio:auth:user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        key = _key(user_id)
        user: User | None = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cache.set(key, user, USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


@receiver(post_save, sender=get_user_model())
@receiver(post_delete, sender=get_user_model())
def forget_cached_user(sender: type, instance: User, **kwargs: Any) -> None:
    cache.delete(_key(instance.pk))
