"""Avatar images: measured before they are decoded, then stored small, upright, metadata-free, randomly named."""

import io
import secrets
import threading

from django.core.files import File
from django.core.files.base import ContentFile
from PIL import Image, ImageOps

MAX_PIXELS = 4096 * 4096
MAX_SIDE = 512
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
JPEG_QUALITY = 85

NOT_AN_IMAGE = "Upload a JPEG, PNG, WebP or GIF image."
TOO_MANY_PIXELS = "The image is too large: at most 4096x4096 pixels (16.7 megapixels)."


# One decode at a time per process: a 4096x4096 image takes ~200 MB while it is decoded, and parallel uploads
# must not add up past an instance's memory (gunicorn's threads would otherwise decode side by side).
_decoding = threading.BoundedSemaphore(1)


class InvalidAvatar(ValueError):
    """The upload cannot be an avatar; the message tells the reader what to send instead."""


def avatar_process(upload: File) -> ContentFile:
    """Return `upload` ready to store: at most MAX_SIDE pixels a side (aspect kept), its first frame, turned
    upright by its EXIF orientation, without any metadata (EXIF, GPS, XMP, ICC, text chunks), as a PNG when
    some pixel is transparent and a JPEG otherwise, under a random name. Raise InvalidAvatar for anything
    but a JPEG, PNG, WebP or GIF of at most MAX_PIXELS pixels; larger ones are refused before decoding."""
    upload.seek(0)
    try:
        with _decoding, Image.open(upload, formats=FORMATS) as image:  # lazy: reads the header, not the pixels
            if image.width * image.height > MAX_PIXELS:
                raise InvalidAvatar(TOO_MANY_PIXELS)
            image.draft(None, (MAX_SIDE, MAX_SIDE))  # a JPEG decodes straight at 1/2, 1/4 or 1/8 scale
            ImageOps.exif_transpose(image, in_place=True)  # decodes the first frame only; no full-size copy
            return _encoded(image)
    except InvalidAvatar:
        raise
    except Image.DecompressionBombError as exc:  # past twice Pillow's own limit, refused by Image.open itself
        raise InvalidAvatar(TOO_MANY_PIXELS) from exc
    except Exception as exc:  # Pillow fails on hostile files in many ways; each means "not an image we can use"
        raise InvalidAvatar(NOT_AN_IMAGE) from exc


def _encoded(image: Image.Image) -> ContentFile:
    if image.mode.startswith("I;16"):
        image = image.point(lambda value: value / 256)  # 16-bit greys, which convert() would clip to white
    image.thumbnail((MAX_SIDE, MAX_SIDE))  # first, so no full-size copy is made by convert()
    image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")  # an alpha channel with nothing transparent in it
    # A new image carries pixels only: none of the source's info (EXIF, XMP, ICC profile, text) can follow.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    buffer = io.BytesIO()
    if clean.mode == "RGBA":
        clean.save(buffer, format="PNG", optimize=True)
        extension = "png"
    else:
        clean.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        extension = "jpg"
    return ContentFile(buffer.getvalue(), name=f"{secrets.token_hex(16)}.{extension}")
