import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageFile

from account.avatars import NOT_AN_IMAGE
from bookflow_api.tests.test_admin_pages import page_form_data
from bookflow_api.tests.test_configuration import PRODUCTION, start
from bookflow_api.tests.test_parsers import UnreadableBody
from conftest import throttle_limit

ME = "/api/v1/account/me/"

pytestmark = pytest.mark.django_db


def image_file(image: Image.Image, format: str, name: str = "me.png", **options) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return SimpleUploadedFile(name, buffer.getvalue())


def stored_avatar(user) -> Image.Image:
    user.refresh_from_db()
    with user.avatar.open() as file:
        return Image.open(io.BytesIO(file.read()))


def halves(size: tuple[int, int], left: str, right: str) -> Image.Image:
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


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


def test_the_stored_name_is_random_with_the_right_extension(auth_client, user):
    response = auth_client.patch(
        ME, {"avatar": image_file(Image.new("RGB", (8, 8)), "PNG", "../../me.png")}, format="multipart"
    )

    user.refresh_from_db()
    assert user.avatar.name.startswith("avatars/") and user.avatar.name.endswith(".jpg")
    assert "me" not in user.avatar.name.removeprefix("avatars/")
    assert response.json()["avatar_url"] == f"http://testserver/media/{user.avatar.name}"


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


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        (PRODUCTION, "False"),
        ({**PRODUCTION, "CLOUDINARY_CLOUD_NAME": "c", "CLOUDINARY_API_KEY": "k", "CLOUDINARY_API_SECRET": "s"}, "True"),
        ({"DEBUG": "1"}, "True"),
    ],
)
def test_avatar_uploads_need_cloudinary_unless_debug_is_on(env, enabled):
    command = [
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.AVATAR_UPLOADS_ENABLED)",
    ]

    assert start(command, **env).stdout.strip() == enabled


def test_a_multipart_body_longer_than_the_limit_is_refused_before_it_is_read(auth_client, settings):
    declared = str(settings.MULTIPART_MAX_BYTES + 1)
    extra = {"CONTENT_LENGTH": declared, "wsgi.input": UnreadableBody()}

    response = auth_client.generic("PATCH", ME, b"--x--", content_type="multipart/form-data; boundary=x", **extra)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_an_avatar_past_the_multipart_limit_is_a_413_and_nothing_changes(auth_client, user, settings):
    settings.MULTIPART_MAX_BYTES = 10_000
    noise = image_file(Image.effect_noise((200, 200), 80), "PNG")  # ~40 KB: noise does not compress

    response = auth_client.patch(ME, {"first_name": "Grace", "avatar": noise}, format="multipart")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    user.refresh_from_db()
    assert (user.first_name, user.avatar.name) == ("Ada", "")


def test_a_chunked_body_without_a_length_is_never_read(auth_client, user):
    extra = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": UnreadableBody()}

    response = auth_client.generic("PATCH", ME, b"-", content_type="multipart/form-data; boundary=x", **extra)

    assert response.status_code == 200  # Django's WSGI request sees no body at all: nothing to change
    user.refresh_from_db()
    assert user.first_name == "Ada"


def test_the_schema_shows_the_avatar_as_a_multipart_file_and_documents_the_503(api_client):
    schema = api_client.get("/api/schema/?format=json", HTTP_X_FORWARDED_PROTO="https").json()

    patch = schema["paths"]["/api/v1/account/me/"]["patch"]
    assert {"application/json", "multipart/form-data"} <= set(patch["requestBody"]["content"])
    assert schema["components"]["schemas"]["PatchedProfileUpdateRequest"]["properties"]["avatar"]["format"] == "binary"
    assert {"413", "415"} <= set(patch["responses"])
    assert "avatars_not_configured" in patch["responses"]["503"]["description"]
    assert "multipart/form-data" not in schema["paths"]["/api/v1/auth/login/"]["post"]["requestBody"]["content"]


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


def test_avatar_uploads_are_limited_per_reader(auth_client):
    limit = throttle_limit("avatar_user")
    answers = [
        auth_client.patch(ME, {"avatar": image_file(Image.new("RGB", (8, 8)), "PNG")}, format="multipart").status_code
        for _ in range(limit + 1)
    ]

    assert answers == [200] * limit + [429]
    assert auth_client.patch(ME, {"first_name": "Still"}, format="json").status_code == 200
