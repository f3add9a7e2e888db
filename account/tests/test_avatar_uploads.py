import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from bookflow_api.tests.test_configuration import PRODUCTION, start
from bookflow_api.tests.test_parsers import UnreadableBody

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
