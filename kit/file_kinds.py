"""What a file is, judged by its content and never by its name (JPEG, PNG, WebP, PDF), and
the size a file may have: shared by the console's attachments and intake's Open311 media.
Free of I/O.

An image must also decode (Pillow): a file that only begins like a JPEG is refused as what it
is, something else."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final, Literal

from PIL import Image

from contracts.attachments import ContentType

MAX_FILE_BYTES: Final = 10 * 1024 * 1024
"""10 MiB: a phone's photo, or a scanned letter of some pages."""
MULTIPART_OVERHEAD: Final = 64 * 1024
"""What a multipart body may add to its one file (boundaries, headers, the file's name)."""
MAX_IMAGE_PIXELS: Final = 64_000_000
"""Beyond a 50-megapixel phone's photo: a larger picture in a small file is a decompression
bomb, and decoding it would hold hundreds of megabytes."""


class FileRefused(Exception):
    """A file that will not be kept; the message says why, to the user (in Chinese)."""


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
