"""Files uploaded through ``/v1/files``: images only, each visible to its owner alone."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from videos_app import images
from videos_app.media import storage_delete

from .models import ApiFile


def api_file_create(
    *,
    owner: User,
    upload: UploadedFile,
    purpose: str,
    expires_after_seconds: int | None = None,
) -> ApiFile:
    """Store an uploaded image, or raise ValidationError if it is not a usable one."""
    data, _image = images.image_read(upload)
    now = timezone.now()
    api_file = ApiFile(
        owner=owner,
        filename=(upload.name or "upload")[:255],
        purpose=purpose,
        bytes=len(data),
        expires_at=now + timedelta(seconds=expires_after_seconds)
        if expires_after_seconds
        else None,
    )
    try:
        with transaction.atomic():
            api_file.save()
            api_file.content.save("content", ContentFile(data), save=True)
    except BaseException:
        if api_file.content.name:
            storage_delete([api_file.content.name])
        raise
    return api_file


def api_file_get(*, user: User, file_id: str) -> ApiFile:
    """The user's unexpired file, or ApiFile.DoesNotExist."""
    return ApiFile.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        owner_id=user.pk,
    ).get(pk=file_id)


def api_file_delete(*, api_file: ApiFile) -> None:
    names = [api_file.content.name] if api_file.content.name else []
    with transaction.atomic():
        api_file.delete()
        transaction.on_commit(lambda: storage_delete(names))
