from django.urls import path

from account import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/resend-code/", views.ResendCodeView.as_view(), name="auth-resend-code"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/token/refresh/", views.RefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm/", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/password/change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("account/me/", views.MeView.as_view(), name="account-me"),
    path("account/subscription/", views.SubscriptionView.as_view(), name="account-subscription"),
]
