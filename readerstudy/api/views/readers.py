"""Reader accounts: study creators create them and get a one-time set-password link to hand over."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from readerstudy.access import policy
from readerstudy.api import serializers as s
from readerstudy.api.permissions import Allowed
from readerstudy.api.views.base import ServiceViewSet, valid
from readerstudy.studies import invitations


class ReaderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Accounts: study creators create them (no password: a one-time link sets it) and hand out
    roles per study on the study's members endpoint."""

    serializer_class = s.ReaderSerializer
    permission_classes = [Allowed(site=policy.ACCOUNTS_MANAGE)]

    def get_queryset(self):
        return invitations.accounts()

    @extend_schema(request=s.ReaderSerializer, responses={201: s.InvitationSerializer})
    def create(self, request):
        """Create a reader account without a password; the response carries the one-time set-password link."""
        data = valid(s.ReaderSerializer, request)
        reader, link = invitations.create_reader(request.user, request=request, **data)
        return Response({"reader": s.ReaderSerializer(reader).data, "set_password_link": link}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.InvitationSerializer)
    @action(detail=True, methods=["post"])
    def invite(self, request, pk=None):
        """A fresh set-password link, only while the reader has not set a password (409 afterwards)."""
        reader = self.get_object()
        link = invitations.reissue_link(reader, request.user, request=request)
        return Response({"reader": s.ReaderSerializer(reader).data, "set_password_link": link})
