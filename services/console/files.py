"""Files on a case (附件): what a file is, judged by its content and never by its name; the
limits; the thumbnail of an image; how a file is named when it is served. Free of I/O.

JPEG, PNG and WebP images and PDF documents are taken, at most 10 MiB. An image must also
decode (Pillow): a file that only begins like a JPEG is refused as what it is, something
else. The name the client gave is kept for people to read, never used to decide anything."""

from __future__ import annotations

import io
import re
import unicodedata
from typing import Final
from urllib.parse import quote

from PIL import Image, ImageOps

from kit.file_kinds import (
    JPEG,
    MAX_FILE_BYTES,
    MAX_IMAGE_PIXELS,
    MULTIPART_OVERHEAD,
    PDF,
    PILLOW_FORMATS,
    PNG,
    REFUSED_IMAGE,
    REFUSED_KIND,
    REFUSED_SIZE,
    WEBP,
    FileRefused,
    Kind,
    NotAllowed,
    Recognised,
    TooLarge,
    by_signature,
    recognise,
    too_large,
)

__all__ = [
    "HTML",
    "JPEG",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_NAME_CHARS",
    "MULTIPART_OVERHEAD",
    "PDF",
    "PILLOW_FORMATS",
    "PNG",
    "REFUSED_IMAGE",
    "REFUSED_KIND",
    "REFUSED_SIZE",
    "THUMBNAIL_SIZE",
    "WEBP",
    "FileRefused",
    "Kind",
    "NotAllowed",
    "Recognised",
    "TooLarge",
    "by_signature",
    "content_disposition",
    "display_name",
    "of_content_type",
    "recognise",
    "thumbnail",
    "too_large",
]  # fmt: skip

THUMBNAIL_SIZE: Final = 320
"""The longer side of a thumbnail, in pixels."""
MAX_NAME_CHARS: Final = 200
HTML = Recognised("text/html", "document", "html")
"""Only the console's own notices (``notices``): an upload is never taken as HTML."""


def thumbnail(content: bytes, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG at most ``size`` pixels on its longer side, turned upright as the camera held
    it (EXIF orientation), transparency laid on white."""
    with Image.open(io.BytesIO(content)) as original:
        if original.format == "JPEG":
            original.draft("RGB", (size * 2, size * 2))  # decode at a smaller scale: faster
        image = ImageOps.exif_transpose(original) or original
        image.thumbnail((size, size))
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        elif image.mode != "RGB":
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|]")


def display_name(given: str | None, recognised: Recognised) -> str:
    """The client's name for the file, as people will read it: without any folder, control
    character or character a file system refuses; ``附件.<ext>`` when nothing is left."""
    name = unicodedata.normalize("NFC", given or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name.strip("_"):
        name = f"附件.{recognised.extension}"
    return name[:MAX_NAME_CHARS]


def content_disposition(name: str, recognised: Recognised) -> str:
    """``inline`` for an image (shown in the page), ``attachment`` for a PDF (saved); the name
    as RFC 6266 wants it: an ASCII stand-in, and the real one in ``filename*`` (RFC 5987)."""
    kind = "inline" if recognised.is_image else "attachment"
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    if not fallback.strip("_. "):
        fallback = f"file.{recognised.extension}"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def of_content_type(content_type: str) -> Recognised:
    """The recognised kind stored with a file, back from its content type."""
    for recognised in (JPEG, PNG, WEBP, PDF, HTML):
        if recognised.content_type == content_type:
            return recognised
    raise ValueError(f"not a content type the console keeps: {content_type!r}")
