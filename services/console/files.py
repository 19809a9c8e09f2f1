"""Files on a case (附件): what a file is, judged by its content and never by its name; the
limits; the thumbnail of an image; how a file is named when it is served. Free of I/O.

JPEG, PNG and WebP images and PDF documents are taken, at most 10 MiB. An image must also
decode (Pillow): a file that only begins like a JPEG is refused as what it is, something
else. The name the client gave is kept for people to read, never used to decide anything."""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote

from PIL import Image, ImageOps

from contracts.attachments import ContentType

MAX_FILE_BYTES: Final = 10 * 1024 * 1024
"""10 MiB: a phone's photo, or a scanned letter of some pages."""
MULTIPART_OVERHEAD: Final = 64 * 1024
"""What a multipart body may add to its one file (boundaries, headers, the file's name)."""
MAX_IMAGE_PIXELS: Final = 64_000_000
"""Beyond a 50-megapixel phone's photo: a larger picture in a small file is a decompression
bomb, and decoding it would hold hundreds of megabytes."""
THUMBNAIL_SIZE: Final = 320
"""The longer side of a thumbnail, in pixels."""
MAX_NAME_CHARS: Final = 200


class FileRefused(Exception):
    """A file the console will not keep; the message says why, to the user."""


class TooLarge(FileRefused):
    """Over ``MAX_FILE_BYTES`` (413)."""


class NotAllowed(FileRefused):
    """Not a JPEG, PNG, WebP or PDF by its content, or an image that does not decode (415)."""


Kind = Literal["image", "document"]


@dataclass(frozen=True)
class Recognised:
    content_type: ContentType
    kind: Kind
    extension: str

    @property
    def is_image(self) -> bool:
        return self.kind == "image"


JPEG = Recognised("image/jpeg", "image", "jpg")
PNG = Recognised("image/png", "image", "png")
WEBP = Recognised("image/webp", "image", "webp")
PDF = Recognised("application/pdf", "document", "pdf")
HTML = Recognised("text/html", "document", "html")
"""Only the console's own notices (``notices``): an upload is never taken as HTML."""
PILLOW_FORMATS: Final = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}

REFUSED_KIND = "只能上传 JPEG、PNG、WebP 图片或 PDF 文件"
REFUSED_SIZE = f"文件不能超过 {MAX_FILE_BYTES // (1024 * 1024)} MiB"
REFUSED_IMAGE = "图片已损坏或无法识别"


def too_large(size: int) -> bool:
    return size > MAX_FILE_BYTES


def by_signature(content: bytes) -> Recognised | None:
    """What the first bytes say the file is (the formats' own magic numbers)."""
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"%PDF-"):
        return PDF
    return None


def recognise(content: bytes) -> Recognised:
    """What ``content`` is; ``TooLarge`` or ``NotAllowed`` when it may not be kept."""
    if too_large(len(content)):
        raise TooLarge(REFUSED_SIZE)
    recognised = by_signature(content)
    if recognised is None:
        raise NotAllowed(REFUSED_KIND)
    if recognised.is_image:
        _decodes(content, PILLOW_FORMATS[recognised])
    return recognised


def _decodes(content: bytes, pillow_format: str) -> None:
    """Whether the whole image decodes as ``pillow_format``, within the pixel limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[pillow_format]) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise NotAllowed(REFUSED_IMAGE)
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError):  # fmt: skip
        raise NotAllowed(REFUSED_IMAGE) from None


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
