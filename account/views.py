from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from account import services
from account.models import OneTimeCode, User
from account.serializers import (
    AuthResponseSerializer,
    EmailCodeSerializer,
    EmailSerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterSerializer,
    ResendCodeSerializer,
    SubscriptionSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from account.subscriptions import subscription_of
from account.throttles import (
    CODE_CHECK_THROTTLES,
    AvatarUploadThrottle,
    CodeSendIPThrottle,
    LoginEmailThrottle,
    LoginIPThrottle,
    PasswordUserThrottle,
    RegisterIPThrottle,
)
from bookflow_api.errors import ErrorSerializer
from bookflow_api.errors import error_responses as errors
from bookflow_api.parsers import SafeFormParser, SafeJSONParser, SafeMultiPartParser


def auth_response(user: User, request) -> Response:
    body = {**services.tokens_for_user(user), "user": UserSerializer(user, context={"request": request}).data}
    return Response(body)


ACCEPTED = OpenApiResponse(
    description=(
        "Accepted, with the same empty answer for every address: if the account exists and needs a code, one is "
        "on its way, unless the address got one less than a minute ago or has had 10 today (the earlier code "
        "stays valid). Only the per-client-address limit answers 429."
    )
)

AVATARS_NOT_CONFIGURED = OpenApiResponse(
    ErrorSerializer,
    description="`avatars_not_configured`: an avatar was sent, and this server keeps none (production without "
    "Cloudinary); nothing was changed.",
)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [RegisterIPThrottle]

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer, **errors(400, 429)}, tags=["auth"])
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_register(
            email=data["email"],
            password=data["password"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            timezone_name=data["timezone"],
        )
        return Response(UserSerializer(user, context={"request": request}).data, status=status.HTTP_201_CREATED)


class VerifyEmailView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = CODE_CHECK_THROTTLES

    @extend_schema(
        request=EmailCodeSerializer, responses={200: AuthResponseSerializer, **errors(400, 429)}, tags=["auth"]
    )
    def post(self, request):
        serializer = EmailCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.email_verify(**serializer.validated_data)
        return auth_response(user, request)


class ResendCodeView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [CodeSendIPThrottle]  # per-address limits: services.code_resend

    @extend_schema(request=ResendCodeSerializer, responses={202: ACCEPTED, **errors(400, 429)}, tags=["auth"])
    def post(self, request):
        serializer = ResendCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.code_resend(**serializer.validated_data)
        return Response(status=status.HTTP_202_ACCEPTED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle, LoginEmailThrottle]

    @extend_schema(
        request=LoginSerializer, responses={200: AuthResponseSerializer, **errors(400, 401, 403, 429)}, tags=["auth"]
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_login(**serializer.validated_data)
        return auth_response(user, request)


class SafeTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, made safe: a deleted account is a 401, and one refresh token rotates only once
    even when two requests present it at the same moment (its row is locked while it is checked)."""

    def validate(self, attrs):
        with transaction.atomic():
            try:
                jti = RefreshToken(attrs["refresh"], verify=False).get(jwt_settings.JTI_CLAIM)
            except TokenError:
                jti = None
            if jti:
                list(OutstandingToken.objects.select_for_update().filter(jti=jti).values_list("pk"))
            try:
                return super().validate(attrs)
            except User.DoesNotExist as exc:
                raise AuthenticationFailed("No active account found for the given token.", "no_active_account") from exc


class RefreshView(TokenRefreshView):
    serializer_class = SafeTokenRefreshSerializer

    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer, **errors(400, 401)}, tags=["auth"])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request) -> str:
        # Without it DRF turns the 401 for a bad refresh token into a 403.
        return 'Bearer realm="api"'

    @extend_schema(request=RefreshSerializer, responses={204: None, **errors(400, 401)}, tags=["auth"])
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.token_logout(refresh=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [CodeSendIPThrottle]  # per-address limits: services.code_resend

    @extend_schema(request=EmailSerializer, responses={202: ACCEPTED, **errors(400, 429)}, tags=["auth"])
    def post(self, request):
        serializer = EmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.code_resend(email=serializer.validated_data["email"], purpose=OneTimeCode.Purpose.RESET_PASSWORD)
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = CODE_CHECK_THROTTLES

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={200: AuthResponseSerializer, **errors(400, 429)},
        tags=["auth"],
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.password_reset_confirm(**serializer.validated_data)
        return auth_response(user, request)


class PasswordChangeView(APIView):
    throttle_classes = [PasswordUserThrottle]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: TokenPairSerializer, **errors(400, 401, 429)},
        tags=["account"],
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.password_change(user=request.user, **serializer.validated_data)
        return Response(tokens)


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser, SafeMultiPartParser, SafeFormParser]  # multipart only here: the avatar

    def get_throttles(self):
        # Deleting the account checks the password: limit guessing like a password change. An upload is decoded:
        # limited per reader (read from the header, before the body is parsed).
        if self.request.method == "DELETE":
            return [PasswordUserThrottle()]
        if self.request.method == "PATCH" and self.request.content_type.startswith("multipart/"):
            return [AvatarUploadThrottle()]
        return []

    @extend_schema(responses={200: UserSerializer, **errors(401)}, tags=["account"])
    def get(self, request):
        return Response(UserSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        request=ProfileUpdateSerializer,
        responses={200: UserSerializer, **errors(400, 401, 429), 503: AVATARS_NOT_CONFIGURED},
        tags=["account"],
    )
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, data=serializer.validated_data)
        return Response(UserSerializer(user, context={"request": request}).data)

    @extend_schema(request=PasswordSerializer, responses={204: None, **errors(400, 401, 429)}, tags=["account"])
    def delete(self, request):
        serializer = PasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_delete(user=request.user, password=serializer.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionView(APIView):
    @extend_schema(responses={200: SubscriptionSerializer, **errors(401)}, tags=["account"])
    def get(self, request):
        return Response(SubscriptionSerializer(subscription_of(request.user)).data)
