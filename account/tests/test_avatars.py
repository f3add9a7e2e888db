"""Avatars: a photo a reader sends becomes a small image without metadata under a random name, the rest is
refused (in the API as in the admin), and its file goes when it is replaced or the account is deleted."""

import io
import re
import struct
import zlib

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin

from account import avatars
from account.avatars import NOT_AN_IMAGE, TOO_MANY_PIXELS, InvalidAvatar, avatar_process
from account.models import User
from account.tests.factories import PASSWORD
from account.tests.helpers import ME
from bookflow_api.tests.helpers import page_form_data
from conftest import throttle_limit

pytestmark = pytest.mark.django_db


def image_file(image: Image.Image, format: str, name: str = "", **options) -> SimpleUploadedFile:
    """`image` saved as `format`, as an uploaded file (named after the format unless given a name)."""
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return SimpleUploadedFile(name or f"upload.{format.lower()}", buffer.getvalue())


def png(size=(8, 8)) -> SimpleUploadedFile:
    return image_file(Image.new("RGB", size, "teal"), "PNG")


def opened(avatar) -> Image.Image:
    return Image.open(io.BytesIO(avatar.read()))


def stored_avatar(user) -> Image.Image:
    user.refresh_from_db()
    with user.avatar.open() as file:
        return Image.open(io.BytesIO(file.read()))


def halves(size: tuple[int, int], left: str, right: str) -> Image.Image:
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def png_header(width: int, height: int) -> SimpleUploadedFile:
    """A PNG that declares `width` x `height` pixels and holds none: only a decoder would notice."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return SimpleUploadedFile("bomb.png", b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b""))


# Processing: what is kept of an image, and what is refused.


def test_an_image_past_the_pixel_cap_is_refused(monkeypatch):
    monkeypatch.setattr(avatars, "MAX_PIXELS", 100)

    assert avatar_process(image_file(Image.new("RGB", (10, 10)), "PNG"))
    with pytest.raises(InvalidAvatar, match=re.escape(TOO_MANY_PIXELS)):
        avatar_process(image_file(Image.new("RGB", (11, 10)), "PNG"))


def test_a_decompression_bomb_past_pillows_own_limit_is_refused_as_too_large():
    with pytest.raises(InvalidAvatar, match=re.escape(TOO_MANY_PIXELS)):
        avatar_process(png_header(65_535, 65_535))


def test_an_opaque_image_with_an_alpha_channel_becomes_a_jpeg():
    avatar = avatar_process(image_file(Image.new("RGBA", (40, 40), (0, 128, 128, 255)), "PNG"))

    assert avatar.name.endswith(".jpg")
    assert opened(avatar).format == "JPEG"


def test_each_avatar_gets_a_new_random_name():
    first = avatar_process(image_file(Image.new("RGB", (8, 8)), "PNG"))
    second = avatar_process(image_file(Image.new("RGB", (8, 8)), "PNG"))

    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", first.name)
    assert first.name != second.name


def test_png_text_chunks_and_xmp_are_dropped():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at home")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    transparent = Image.new("RGBA", (20, 20), (255, 0, 0, 0))

    stored = opened(avatar_process(image_file(transparent, "PNG", pnginfo=text)))

    assert stored.format == "PNG"
    assert not stored.text
    assert "XML:com.adobe.xmp" not in stored.info


@pytest.mark.parametrize(
    ("image", "format"), [(Image.new("RGB", (20, 20)), "JPEG"), (Image.new("RGBA", (20, 20)), "PNG")]
)
def test_the_icc_profile_is_dropped(image, format):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    stored = opened(avatar_process(image_file(image, format, icc_profile=profile)))

    assert stored.format == format
    assert "icc_profile" not in stored.info


def test_a_webp_is_accepted_and_stored_as_a_jpeg():
    stored = opened(avatar_process(image_file(Image.new("RGB", (600, 300), "teal"), "WEBP")))

    assert (stored.format, stored.size) == ("JPEG", (512, 256))


def test_sixteen_bit_greys_keep_their_shade():
    stored = opened(avatar_process(image_file(Image.new("I;16", (20, 20), 128 * 256), "PNG")))

    assert all(abs(channel - 128) <= 2 for channel in stored.getpixel((10, 10)))


@pytest.mark.parametrize("format", ["TIFF", "BMP", "PDF", "ICO"])
def test_other_image_formats_are_refused(format):
    with pytest.raises(InvalidAvatar, match=re.escape(NOT_AN_IMAGE)):
        avatar_process(image_file(Image.new("RGB", (16, 16)), format))


def test_a_truncated_image_is_refused():
    whole = image_file(Image.effect_noise((64, 64), 50), "PNG").read()

    with pytest.raises(InvalidAvatar, match=re.escape(NOT_AN_IMAGE)):
        avatar_process(SimpleUploadedFile("cut.png", whole[: len(whole) // 2]))


# Uploading one through the API.


def test_avatar_upload_gives_an_absolute_url(auth_client, user):
    response = auth_client.patch(ME, {"avatar": png()}, format="multipart")

    assert response.status_code == 200
    assert response.json()["avatar_url"].startswith("http://testserver/media/avatars/")
    user.refresh_from_db()
    assert user.avatar.storage.exists(user.avatar.name)


def test_a_huge_image_small_on_disk_is_refused_without_decoding_its_pixels(auth_client, user, monkeypatch):
    bomb = image_file(Image.new("1", (12_000, 12_000)), "PNG")  # ~430 MB decoded as RGB, 17 KB on disk
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image))

    with pytest.warns(Image.DecompressionBombWarning):  # Pillow's own, looser, limit only warns here
        response = auth_client.patch(ME, {"avatar": bomb}, format="multipart")

    assert response.status_code == 400
    assert "4096x4096" in response.json()["errors"]["avatar"][0]
    assert decoded == []
    user.refresh_from_db()
    assert not user.avatar


def test_a_photo_is_stored_at_most_512_wide_with_its_aspect_ratio_and_without_exif(auth_client, user):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (6, 27, 0)})
    photo = image_file(Image.new("RGB", (2000, 1000), "teal"), "JPEG", "holiday.jpg", exif=exif)
    assert Image.open(photo).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload does carry a position
    photo.seek(0)

    assert auth_client.patch(ME, {"avatar": photo}, format="multipart").status_code == 200

    stored = stored_avatar(user)
    assert (stored.format, stored.size) == ("JPEG", (512, 256))
    assert not stored.getexif()
    assert "exif" not in stored.info


def test_the_exif_orientation_is_applied_before_the_metadata_goes(auth_client, user):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90 degrees clockwise to display": the left half goes on top
    photo = image_file(halves((200, 100), "red", "blue"), "JPEG", "portrait.jpg", exif=exif)

    auth_client.patch(ME, {"avatar": photo}, format="multipart")

    stored = stored_avatar(user)
    assert stored.size == (100, 200)
    red, _, blue = stored.getpixel((50, 20))
    assert red > 200 and blue < 60
    assert not stored.getexif()


def test_a_png_with_transparency_stays_a_png_with_transparency(auth_client, user):
    image = Image.new("RGBA", (64, 64), (0, 0, 255, 255))
    image.paste((0, 0, 0, 0), (0, 0, 32, 64))

    auth_client.patch(ME, {"avatar": image_file(image, "PNG")}, format="multipart")

    stored = stored_avatar(user)
    assert (stored.format, stored.mode) == ("PNG", "RGBA")
    assert user.avatar.name.endswith(".png")
    assert stored.getpixel((0, 0))[3] == 0
    assert stored.getpixel((63, 0)) == (0, 0, 255, 255)


def test_an_animated_gif_keeps_only_its_first_frame(auth_client, user):
    frames = [Image.new("RGB", (60, 60), colour) for colour in ("red", "blue", "green")]
    gif = image_file(frames[0], "GIF", "dance.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)

    auth_client.patch(ME, {"avatar": gif}, format="multipart")

    stored = stored_avatar(user)
    assert not getattr(stored, "is_animated", False)
    red, green, blue = stored.getpixel((30, 30))
    assert red > 200 and green < 60 and blue < 60


def test_avatar_must_be_an_image(auth_client):
    fake = SimpleUploadedFile("me.png", b"not an image", content_type="image/png")

    response = auth_client.patch(ME, {"avatar": fake}, format="multipart")

    assert response.status_code == 400
    assert "avatar" in response.json()["errors"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("avatar.png", b"just some text, not an image"),
        ("avatar.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
        ("avatar.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    ],
)
def test_a_file_that_is_not_an_accepted_image_is_refused_with_a_field_error(auth_client, user, name, content):
    response = auth_client.patch(ME, {"avatar": SimpleUploadedFile(name, content)}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"] == {"avatar": [NOT_AN_IMAGE]}
    user.refresh_from_db()
    assert not user.avatar


def test_a_tiff_is_refused(auth_client):
    tiff = image_file(Image.new("RGB", (16, 16)), "TIFF", "avatar.tiff")

    response = auth_client.patch(ME, {"avatar": tiff}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"] == {"avatar": [NOT_AN_IMAGE]}


def test_avatar_size_is_limited(auth_client, settings):
    settings.AVATAR_MAX_BYTES = 10

    response = auth_client.patch(ME, {"avatar": png()}, format="multipart")

    assert response.status_code == 400
    assert "avatar" in response.json()["errors"]


def test_an_avatar_past_the_multipart_limit_is_a_413_and_nothing_changes(auth_client, user, settings):
    settings.MULTIPART_MAX_BYTES = 10_000
    noise = image_file(Image.effect_noise((200, 200), 80), "PNG")  # ~40 KB: noise does not compress

    response = auth_client.patch(ME, {"first_name": "Grace", "avatar": noise}, format="multipart")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    user.refresh_from_db()
    assert (user.first_name, user.avatar.name) == ("Ada", "")


def test_the_stored_name_is_random_with_the_right_extension(auth_client, user):
    response = auth_client.patch(
        ME, {"avatar": image_file(Image.new("RGB", (8, 8)), "PNG", "../../me.png")}, format="multipart"
    )

    user.refresh_from_db()
    assert user.avatar.name.startswith("avatars/") and user.avatar.name.endswith(".jpg")
    assert "me" not in user.avatar.name.removeprefix("avatars/")
    assert response.json()["avatar_url"] == f"http://testserver/media/{user.avatar.name}"


def test_avatar_uploads_are_limited_per_reader(auth_client):
    limit = throttle_limit("avatar_user")
    answers = [
        auth_client.patch(ME, {"avatar": image_file(Image.new("RGB", (8, 8)), "PNG")}, format="multipart").status_code
        for _ in range(limit + 1)
    ]

    assert answers == [200] * limit + [429]
    assert auth_client.patch(ME, {"first_name": "Still"}, format="json").status_code == 200


# Without a kept image storage (production without Cloudinary).


def test_without_a_kept_image_storage_an_avatar_refuses_the_whole_update(auth_client, user, settings):
    settings.AVATAR_UPLOADS_ENABLED = False  # production (DEBUG off) without Cloudinary
    body = {"first_name": "Grace", "avatar": image_file(Image.new("RGB", (8, 8)), "PNG")}

    response = auth_client.patch(ME, body, format="multipart")

    assert response.status_code == 503
    assert response.json()["code"] == "avatars_not_configured"
    user.refresh_from_db()
    assert (user.first_name, user.avatar.name) == ("Ada", "")


def test_without_a_kept_image_storage_the_rest_of_the_profile_still_changes(auth_client, user, settings):
    settings.AVATAR_UPLOADS_ENABLED = False

    response = auth_client.patch(ME, {"first_name": "Grace"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.first_name == "Grace"


# In the admin.


def test_an_avatar_uploaded_in_the_admin_is_processed_like_one_from_the_api(admin_client, user):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    page = admin_client.get(f"/admin/account/user/{user.pk}/change/")
    form = page_form_data(page) | {"avatar": image_file(Image.new("RGB", (2000, 1000)), "JPEG", "a.jpg", exif=exif)}

    response = admin_client.post(f"/admin/account/user/{user.pk}/change/", form)

    assert response.status_code == 302
    stored = stored_avatar(user)
    assert (stored.format, stored.size, dict(stored.getexif())) == ("JPEG", (512, 256), {})


def test_an_image_the_api_would_refuse_is_refused_in_the_admin_too(admin_client, user):
    page = admin_client.get(f"/admin/account/user/{user.pk}/change/")
    form = page_form_data(page) | {"avatar": image_file(Image.new("1", (12000, 12000)), "PNG", "huge.png")}

    response = admin_client.post(f"/admin/account/user/{user.pk}/change/", form)

    assert response.status_code == 200
    assert "too large" in str(response.context["adminform"].form.errors["avatar"])


# The file goes when the avatar or the account does.


def test_replacing_the_avatar_deletes_the_old_file(auth_client, user):
    auth_client.patch(ME, {"avatar": png()}, format="multipart")
    user.refresh_from_db()
    first = user.avatar.name

    auth_client.patch(ME, {"avatar": png((4, 4))}, format="multipart")

    user.refresh_from_db()
    assert user.avatar.name != first
    assert not user.avatar.storage.exists(first)


def test_deleting_the_account_deletes_its_avatar_file(auth_client, user):
    auth_client.patch(ME, {"avatar": png()}, format="multipart")
    user.refresh_from_db()
    avatar, storage = user.avatar.name, user.avatar.storage
    assert storage.exists(avatar)

    assert auth_client.delete(ME, {"password": PASSWORD}, format="json").status_code == 204

    assert not storage.exists(avatar)


def test_an_avatar_that_cannot_be_deleted_does_not_fail_the_account_deletion(auth_client, user, monkeypatch):
    auth_client.patch(ME, {"avatar": png()}, format="multipart")

    def broken_delete(self, name):
        raise OSError("disk unavailable")

    monkeypatch.setattr(FileSystemStorage, "delete", broken_delete)
    response = auth_client.delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
