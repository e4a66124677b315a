"""Reader accounts: coordinators create them and get a one-time set-password link to hand over."""
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from readerstudy.accounts import roles
from readerstudy.api import serializers as s
from readerstudy.api.permissions import IsCoordinator
from readerstudy.api.views.base import ServiceViewSet, valid
from readerstudy.studies import invitations


class ReaderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    serializer_class = s.ReaderSerializer
    permission_classes = [IsCoordinator]

    def get_queryset(self):
        return get_user_model().objects.filter(groups__name=roles.READER).order_by("username")

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
