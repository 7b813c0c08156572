"""imgpro's Python SDK: ``Client`` and ``AsyncClient`` over httpx.

    from imgpro.client import Client
    with Client("http://127.0.0.1:8000", api_key="img_live_…") as img:
        image = img.upload("photo.jpg", caption="Sunset", labels={"album": "trip"})
        print(img.url(image, w=600, fit="cover"))
        for image in img.list(labels={"album": "trip"}):
            ...

Writes carry an ``Idempotency-Key`` and are retried (with backoff, honouring ``Retry-After``)
on connection errors, 429 and 5xx only; every other error is raised as :class:`ImgproError`
carrying the envelope's ``code``, ``action`` and ``usage``. Nothing here is imported by the
server.
"""

from imgpro.client.aio import AsyncClient
from imgpro.client.core import Retry, transform_url
from imgpro.client.errors import ImgproConnectionError, ImgproError
from imgpro.client.models import BatchResult, Image, ImagePage, Meter, Usage
from imgpro.client.sync import Client

__all__ = [
    "AsyncClient",
    "BatchResult",
    "Client",
    "Image",
    "ImagePage",
    "ImgproConnectionError",
    "ImgproError",
    "Meter",
    "Retry",
    "Usage",
    "transform_url",
]
