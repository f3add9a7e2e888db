"""The API's URLs plus `/bench/bare/`: a DRF view that does nothing, the ceiling of this stack."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bookflow_api.urls import urlpatterns as api_urlpatterns


class BareView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        return Response({"status": "ok"})


urlpatterns = [path("bench/bare/", BareView.as_view()), *api_urlpatterns]
from bookflow_api.urls import handler400, handler500  # noqa: E402,F401
