import io
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, PngImagePlugin

from account import avatars
from account.avatars import NOT_AN_IMAGE, TOO_MANY_PIXELS, InvalidAvatar, avatar_process


def upload(image: Image.Image, format: str, **options) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return SimpleUploadedFile(f"upload.{format.lower()}", buffer.getvalue())


def opened(avatar) -> Image.Image:
    return Image.open(io.BytesIO(avatar.read()))


def png_header(width: int, height: int) -> SimpleUploadedFile:
    """A PNG that declares `width` x `height` pixels and holds none: only a decoder would notice."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return SimpleUploadedFile("bomb.png", b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b""))


def test_an_image_past_the_pixel_cap_is_refused(monkeypatch):
    monkeypatch.setattr(avatars, "MAX_PIXELS", 100)

    assert avatar_process(upload(Image.new("RGB", (10, 10)), "PNG"))
    with pytest.raises(InvalidAvatar, match=re.escape(TOO_MANY_PIXELS)):
        avatar_process(upload(Image.new("RGB", (11, 10)), "PNG"))


def test_a_decompression_bomb_past_pillows_own_limit_is_refused_as_too_large():
    with pytest.raises(InvalidAvatar, match=re.escape(TOO_MANY_PIXELS)):
        avatar_process(png_header(65_535, 65_535))


def test_an_opaque_image_with_an_alpha_channel_becomes_a_jpeg():
    avatar = avatar_process(upload(Image.new("RGBA", (40, 40), (0, 128, 128, 255)), "PNG"))

    assert avatar.name.endswith(".jpg")
    assert opened(avatar).format == "JPEG"


def test_each_avatar_gets_a_new_random_name():
    first = avatar_process(upload(Image.new("RGB", (8, 8)), "PNG"))
    second = avatar_process(upload(Image.new("RGB", (8, 8)), "PNG"))

    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", first.name)
    assert first.name != second.name


def test_png_text_chunks_and_xmp_are_dropped():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at home")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    transparent = Image.new("RGBA", (20, 20), (255, 0, 0, 0))

    stored = opened(avatar_process(upload(transparent, "PNG", pnginfo=text)))

    assert stored.format == "PNG"
    assert not stored.text
    assert "XML:com.adobe.xmp" not in stored.info


@pytest.mark.parametrize(
    ("image", "format"), [(Image.new("RGB", (20, 20)), "JPEG"), (Image.new("RGBA", (20, 20)), "PNG")]
)
def test_the_icc_profile_is_dropped(image, format):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    stored = opened(avatar_process(upload(image, format, icc_profile=profile)))

    assert stored.format == format
    assert "icc_profile" not in stored.info


def test_a_webp_is_accepted_and_stored_as_a_jpeg():
    stored = opened(avatar_process(upload(Image.new("RGB", (600, 300), "teal"), "WEBP")))

    assert (stored.format, stored.size) == ("JPEG", (512, 256))


def test_sixteen_bit_greys_keep_their_shade():
    stored = opened(avatar_process(upload(Image.new("I;16", (20, 20), 128 * 256), "PNG")))

    assert all(abs(channel - 128) <= 2 for channel in stored.getpixel((10, 10)))


@pytest.mark.parametrize("format", ["TIFF", "BMP", "PDF", "ICO"])
def test_other_image_formats_are_refused(format):
    with pytest.raises(InvalidAvatar, match=re.escape(NOT_AN_IMAGE)):
        avatar_process(upload(Image.new("RGB", (16, 16)), format))


def test_a_truncated_image_is_refused():
    whole = upload(Image.effect_noise((64, 64), 50), "PNG").read()

    with pytest.raises(InvalidAvatar, match=re.escape(NOT_AN_IMAGE)):
        avatar_process(SimpleUploadedFile("cut.png", whole[: len(whole) // 2]))
