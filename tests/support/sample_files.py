"""Files of each kind, made here: real images Pillow writes, a small real PDF, and the
impostors a recogniser must refuse."""

from __future__ import annotations

import io
import uuid

from PIL import Image


def image(fmt: str, size: tuple[int, int] = (800, 600), mode: str = "RGB", **save: object) -> bytes:
    """A picture in ``fmt`` (JPEG, PNG, WEBP, GIF…): gradients, so that a thumbnail of it
    has something to show."""
    picture = Image.linear_gradient("L").resize(size)
    if mode in ("RGB", "RGBA"):
        picture = Image.merge(
            "RGB",
            (
                Image.linear_gradient("L").resize(size),
                Image.linear_gradient("L").rotate(90).resize(size),
                Image.new("L", size, 128),
            ),
        )
        if mode == "RGBA":
            picture.putalpha(Image.linear_gradient("L").resize(size))
    out = io.BytesIO()
    picture.save(out, fmt, **save)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (800, 600), orientation: int | None = None) -> bytes:
    if orientation is None:
        return image("JPEG", size, quality=85)
    exif = Image.Exif()
    exif[0x0112] = orientation  # EXIF Orientation: 6 is "rotate 90° clockwise to view"
    return image("JPEG", size, quality=85, exif=exif.tobytes())


def png(size: tuple[int, int] = (640, 480), alpha: bool = False) -> bytes:
    return image("PNG", size, "RGBA" if alpha else "RGB")


def webp(size: tuple[int, int] = (640, 480)) -> bytes:
    return image("WEBP", size, quality=80)


def gif() -> bytes:
    return image("GIF", (64, 64), "L")


def pdf() -> bytes:
    """A one-page PDF, as Pillow writes one."""
    out = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(out, "PDF")
    return out.getvalue()


def bomb() -> bytes:
    """A PNG of 12,000 × 12,000 pixels (144 million) in a few hundred kilobytes."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def jpeg_impostor() -> bytes:
    """Begins as a JPEG does, then is not one."""
    return b"\xff\xd8\xff\xe0" + b"not really a picture " * 100


def truncated_jpeg() -> bytes:
    whole = jpeg()
    return whole[: len(whole) // 2]


def html_page() -> bytes:
    return b"<html><script>alert(1)</script></html>"


def multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of ``(field, filename, bytes)`` parts (a plain form field
    where the filename is None), and its content type."""
    boundary = uuid.uuid4().hex
    body = b""
    for field, filename, content in parts:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"'
        if filename is not None:
            head += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        body += (head + "\r\n\r\n").encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
