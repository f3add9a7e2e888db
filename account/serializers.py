import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from account.categories import BY_SLUG
from account.models import OneTimeCode, Plan, User, normalize_email
from account.subscriptions import subscription_of

CODE_FIELD = {"regex": r"^[0-9]{6}$", "error_messages": {"invalid": "Enter the 6-digit code from the email."}}


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> str:
    if value not in _timezones():
        raise serializers.ValidationError("Use an IANA time zone name such as 'Europe/Paris'.")
    return value


class AddressField(serializers.EmailField):
    """An email address as `normalize_email` spells it; a form it refuses is a 400 `invalid` on the field."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=254, **kwargs)

    def to_internal_value(self, data) -> str:
        try:
            return normalize_email(super().to_internal_value(data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code="invalid") from exc


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("write_only", True)
        super().__init__(trim_whitespace=False, max_length=128, style={"input_type": "password"}, **kwargs)


class QuotaSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField()


class QuotasSerializer(serializers.Serializer):
    summaries = QuotaSerializer()


class SubscriptionSerializer(serializers.Serializer):
    plan = serializers.ChoiceField(choices=Plan.choices)
    status = serializers.ChoiceField(choices=["none", "trialing", "active", "expired"])
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    quotas = QuotasSerializer()


class UserSerializer(serializers.ModelSerializer):
    avatar_url = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "interests",
            "timezone",
            "avatar_url",
            "is_verified",
            "date_joined",
            "subscription",
        ]
        read_only_fields = fields

    @extend_schema_field(SubscriptionSerializer)
    def get_subscription(self, user: User) -> dict:
        return SubscriptionSerializer(subscription_of(user)).data

    def get_avatar_url(self, user: User) -> str | None:
        if not user.avatar:
            return None
        request = self.context.get("request")
        url = user.avatar.url
        return request.build_absolute_uri(url) if request else url


class RegisterSerializer(serializers.Serializer):
    email = AddressField()
    password = PasswordField()
    first_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC", validators=[validate_timezone])


class EmailCodeSerializer(serializers.Serializer):
    email = AddressField()
    code = serializers.RegexField(**CODE_FIELD)


class EmailSerializer(serializers.Serializer):
    email = AddressField()


class ResendCodeSerializer(serializers.Serializer):
    email = AddressField()
    purpose = serializers.ChoiceField(choices=OneTimeCode.Purpose.choices, default=OneTimeCode.Purpose.VERIFY_EMAIL)


class LoginSerializer(serializers.Serializer):
    email = AddressField()
    password = PasswordField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    email = AddressField()
    code = serializers.RegexField(**CODE_FIELD)
    new_password = PasswordField()


class PasswordChangeSerializer(serializers.Serializer):
    current_password = PasswordField()
    new_password = PasswordField()


class PasswordSerializer(serializers.Serializer):
    password = PasswordField()


class ProfileUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    interests = serializers.ListField(
        child=serializers.SlugField(max_length=50), max_length=20, required=False, allow_empty=True
    )
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    # A file, not an ImageField: that would open and verify it with Pillow before account.avatars measures it.
    avatar = serializers.FileField(required=False, help_text="A JPEG, PNG, WebP or GIF of at most 4096x4096 pixels.")

    def validate_interests(self, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - BY_SLUG.keys())
        if unknown:
            raise serializers.ValidationError(
                f"Unknown categories: {', '.join(unknown)}. See GET /api/v1/books/categories/."
            )
        return list(dict.fromkeys(value))

    def validate_avatar(self, value):
        if value.size > settings.AVATAR_MAX_BYTES:
            limit_mb = settings.AVATAR_MAX_BYTES // (1024 * 1024)
            raise serializers.ValidationError(f"The image is larger than {limit_mb} MB.")
        return value


class WorkerHealthSerializer(serializers.Serializer):
    last_seen = serializers.DateTimeField(allow_null=True, help_text="The worker's last heartbeat.")
    alive = serializers.BooleanField(help_text="A heartbeat within the last 90 seconds.")

    class Meta:
        ref_name = "WorkerHealth"
