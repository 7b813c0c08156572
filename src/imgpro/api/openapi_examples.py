"""Example bodies for the OpenAPI document: one realistic instance of every request and response
shape (the Image object as SPEC §4 writes it)."""

from __future__ import annotations

from typing import Any

IMAGE_PREFIX = "k3x"
_URL = f"https://img.example.com/i/{IMAGE_PREFIX}/a8f2k4q1.jpg"

IMAGE: dict[str, Any] = {
    "id": "a8f2k4q1",
    "object": "image",
    "url": _URL,
    "page_url": "https://img.example.com/a8f2k4q1",
    "sizes": {
        "small": {"url": f"{_URL}?size=s", "width": 480, "height": 320},
        "medium": {"url": f"{_URL}?size=m", "width": 960, "height": 640},
        "large": {"url": f"{_URL}?size=l", "width": 1620, "height": 1080},
    },
    "filename": "beach.jpg",
    "format": "jpg",
    "width": 3000,
    "height": 2000,
    "bytes": 1843200,
    "transformable": True,
    "status": "ready",
    "public": True,
    "published_at": "2026-11-20T09:30:00Z",
    "expires_at": None,
    "created_at": "2026-11-20T09:30:00Z",
    "caption": "Sunset at the beach",
    "metadata": {"source": "phone"},
    "labels": {"album": "trip"},
    "nsfw": False,
    "placeholder": {
        "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        "color": "#c28b5a",
        "thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI",
    },
}

IMAGE_LIST = {
    "object": "list",
    "data": [IMAGE],
    "pagination": {
        "next_cursor": "eyJ0IjoiMjAyNi0xMS0yMFQwOTozMDowMFoiLCJpIjoiYThmMmtxNDEifQ",
        "has_more": True,
    },
}

DELETED = {"id": "a8f2k4q1", "object": "image", "deleted": True}

_MISSING = {"id": "zz9zz9zz", "error": {"code": "not_found", "message": "No such image."}}
BATCH_DELETED = {
    "object": "batch_result",
    "data": [{"id": "a8f2k4q1", "deleted": True}],
    "errors": [_MISSING],
}
BATCH_UPDATED = {
    "object": "batch_result",
    "data": [{"id": "a8f2k4q1", "image": IMAGE}],
    "errors": [_MISSING],
}

USAGE = {
    "object": "usage",
    "plan": "free",
    "period": {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
    "limits": {
        "uploads": {"used": 12, "limit": 1000},
        "storage_bytes": {"used": 5242880, "limit": 5368709120},
        "images": {"used": 340, "limit": 5000},
    },
    "limits_enforced": True,
    "totals": {"images_stored": 340},
}

CONNECTED_USER = {"object": "user", "id": "usr_8d1k2m3n", "email": "ada@example.com"}

CREATE_BODIES = {
    "multipart/form-data": {
        "upload": {
            "summary": "Upload a file",
            "value": {
                "file": "(binary)",
                "caption": "Sunset at the beach",
                "public": "true",
                "ttl": "30d",
                "metadata": '{"source": "phone"}',
                "labels": '{"album": "trip"}',
            },
        }
    },
    "application/json": {
        "import": {
            "summary": "Import from a URL",
            "value": {
                "url": "https://example.com/photos/beach.jpg",
                "caption": "Sunset",
                "labels": {"album": "trip"},
            },
        }
    },
}
UPDATE_BODIES = {
    "application/json": {
        "caption": {
            "summary": "Set a caption and labels",
            "value": {"caption": "New caption", "labels": {"album": "trip"}},
        },
        "private": {"summary": "Hide the viewer page", "value": {"public": False}},
        "expire": {"summary": "Expire at a time", "value": {"expires_at": "2026-12-31T00:00:00Z"}},
    }
}
BATCH_DELETE_BODIES = {
    "application/json": {
        "ids": {"summary": "Delete two images", "value": {"ids": ["a8f2k4q1", "zz9zz9zz"]}}
    }
}
BATCH_UPDATE_BODIES = {
    "application/json": {
        "set": {
            "summary": "Label two images",
            "value": {"ids": ["a8f2k4q1", "zz9zz9zz"], "set": {"labels": {"album": "trip"}}},
        }
    }
}
EXCHANGE_BODIES = {
    "application/json": {
        "exchange": {
            "summary": "Trade the code from the redirect",
            "value": {"code": "c_4Xq9…", "redirect_uri": "https://app.example.com/imgpro/callback"},
        }
    }
}

PRESET = {
    "object": "preset",
    "name": "card",
    "params": {"w": "400", "h": "300", "fit": "cover", "format": "webp"},
    "created_at": "2026-11-15T12:00:00Z",
    "updated_at": "2026-11-15T12:00:00Z",
}
PRESET_LIST = {"object": "list", "data": [PRESET]}
PRESET_DELETED = {"object": "preset", "name": "card", "deleted": True}
PRESET_BODIES = {
    "application/json": {
        "card": {
            "summary": "A 400×300 WebP card",
            "value": {"w": 400, "h": 300, "fit": "cover", "format": "webp"},
        },
        "avatar": {
            "summary": "A square face crop",
            "value": {"w": 128, "h": 128, "fit": "cover", "q": 70},
        },
    }
}
SETTINGS = {
    "object": "settings",
    "signed_transforms": True,
    "signing_secret_set": True,
    "signing_secret": "img_sig_Xk2…",
}
SETTINGS_BODIES = {
    "application/json": {
        "on": {"summary": "Require signed transform URLs", "value": {"signed_transforms": True}},
        "off": {"summary": "Allow every transform URL", "value": {"signed_transforms": False}},
    }
}
