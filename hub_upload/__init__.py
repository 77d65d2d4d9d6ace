"""Hub upload: publish a ``moud build`` folder to the Hugging Face Hub (``moud upload``)."""

from __future__ import annotations


def upload_dataset(*args, **kwargs):
    """See :func:`hub_upload.upload.upload_dataset` (imported lazily to keep ``moud --help`` fast)."""
    from hub_upload.upload import upload_dataset as _upload

    return _upload(*args, **kwargs)


__all__ = ["upload_dataset"]
