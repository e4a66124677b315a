"""API tokens: the standard DRF token exchange, audited like a login."""
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from readerstudy import audit


class AuditedObtainAuthToken(ObtainAuthToken):
    def post(self, request, *args, **kwargs):
        serializer = self.serializer_class(data=request.data, context={"request": request})
        if not serializer.is_valid():
            audit.record(None, "api.token_failed", request=request, username=str(request.data.get("username", ""))[:150])
            serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        audit.record(user, "api.token_issued", request=request)
        return Response({"token": token.key})
