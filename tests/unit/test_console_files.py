"""Files by their content, never their name: JPEG, PNG, WebP and PDF, at most 10 MiB, images
that really decode; thumbnails; names as people read them and as browsers save them."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from PIL import Image

from services.console import files
from tests.support import sample_files


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (sample_files.jpeg(), "image/jpeg"),
        (sample_files.png(), "image/png"),
        (sample_files.png(alpha=True), "image/png"),
        (sample_files.webp(), "image/webp"),
        (sample_files.pdf(), "application/pdf"),
    ],
)
def test_the_four_kinds_are_recognised_by_their_content(content: bytes, content_type: str) -> None:
    assert files.recognise(content).content_type == content_type


@pytest.mark.parametrize(
    "content",
    [
        sample_files.gif(),
        sample_files.html_page(),
        b"",
        b"PK\x03\x04 a zip, or a docx",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but a sound
        b"\x00%PDF-1.4 not at the start",
    ],
)
def test_other_content_is_not_allowed(content: bytes) -> None:
    with pytest.raises(files.NotAllowed):
        files.recognise(content)


@pytest.mark.parametrize(
    "content",
    [sample_files.jpeg_impostor(), sample_files.truncated_jpeg(), b"\x89PNG\r\n\x1a\n" + b"x" * 50,
     b"RIFF\x10\x00\x00\x00WEBPVP8 garbage"],
)  # fmt: skip
def test_an_image_that_does_not_decode_is_not_allowed(content: bytes) -> None:
    assert files.by_signature(content) is not None  # its first bytes lie
    with pytest.raises(files.NotAllowed):
        files.recognise(content)


def test_a_decompression_bomb_is_not_allowed() -> None:
    content = sample_files.bomb()
    assert len(content) < 1024 * 1024
    with pytest.raises(files.NotAllowed):
        files.recognise(content)


def test_the_limit_is_ten_mebibytes_and_judged_before_the_content() -> None:
    at_limit = b"%PDF-1.7\n" + b"0" * (files.MAX_FILE_BYTES - 9)
    assert len(at_limit) == 10 * 1024 * 1024
    assert files.recognise(at_limit) == files.PDF
    with pytest.raises(files.TooLarge):
        files.recognise(at_limit + b"0")
    with pytest.raises(files.TooLarge):  # too large says so, whatever it is
        files.recognise(b"GIF89a" + b"0" * files.MAX_FILE_BYTES)


def test_a_thumbnail_is_a_jpeg_of_at_most_320_pixels_keeping_the_shape() -> None:
    small = files.thumbnail(sample_files.jpeg((1600, 1200)))
    with Image.open(io.BytesIO(small)) as image:
        assert (image.format, image.size) == ("JPEG", (320, 240))


def test_a_thumbnail_stands_upright_as_the_camera_was_held() -> None:
    # a phone held upright writes a landscape picture and EXIF orientation 6
    small = files.thumbnail(sample_files.jpeg((1600, 1200), orientation=6))
    with Image.open(io.BytesIO(small)) as image:
        assert image.size == (240, 320)


def test_transparency_is_laid_on_white_and_every_kind_has_a_thumbnail() -> None:
    for content in (sample_files.png(alpha=True), sample_files.webp(), sample_files.png()):
        with Image.open(io.BytesIO(files.thumbnail(content))) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert max(image.size) == 320
    with Image.open(io.BytesIO(files.thumbnail(sample_files.png((100, 50))))) as image:
        assert image.size == (100, 50)  # never enlarged


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("现场照片.jpg", "现场照片.jpg"),
        ("C:\\Users\\王\\Desktop\\整改报告.pdf", "整改报告.pdf"),
        ("../../etc/passwd", "passwd"),
        ('a"b\x00c<d>.png', "a_b_c_d_.png"),
        ("", "附件.jpg"),
        (None, "附件.jpg"),
        ("...", "附件.jpg"),
        ("长" * 300 + ".jpg", "长" * 200),
    ],
)
def test_the_name_is_kept_for_people_without_folders_or_tricks(
    given: str | None, shown: str
) -> None:
    assert files.display_name(given, files.JPEG) == shown


def test_images_are_shown_inline_and_pdfs_saved_with_their_chinese_name() -> None:
    image = files.content_disposition("现场 照片.jpg", files.JPEG)
    assert image.startswith("inline; ")
    document = files.content_disposition("整改报告.pdf", files.PDF)
    assert document.startswith("attachment; ")
    assert 'filename="____.pdf"' in document
    star = document.split("filename*=", 1)[1]
    assert star.startswith("UTF-8''") and unquote(star[7:]) == "整改报告.pdf"
    assert " " not in star and "%20" in image.split("filename*=")[1]


def test_a_name_of_only_non_ascii_characters_has_a_plain_fallback() -> None:
    header = files.content_disposition("照片", files.PNG)
    assert 'filename="file.png"' in header


def test_the_stored_content_type_gives_back_its_kind() -> None:
    assert files.of_content_type("application/pdf") == files.PDF
    assert files.of_content_type("text/html") == files.HTML  # a petition's notice (信访)
    with pytest.raises(ValueError):
        files.of_content_type("text/plain")


def test_an_uploaded_html_page_is_still_refused() -> None:
    with pytest.raises(files.NotAllowed):
        files.recognise(b"<!doctype html><html><script>alert(1)</script></html>")
