"""Reader accounts: coordinators create them and hand over a one-time link; readers set their password."""
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST

from readerstudy import audit
from readerstudy.access import policy
from readerstudy.studies import invitations
from readerstudy.studies.errors import Conflict
from readerstudy.studies.forms import ReaderForm
from readerstudy.studies.views.common import add_service_errors


@require_http_methods(["GET", "POST"])
def reader_list(request):
    """Every account a study creator may invite, and a form to create one; a new link is shown once,
    on this page. Roles are given per study, on the study's page."""
    policy.require(request.user, policy.ACCOUNTS_MANAGE)
    form = ReaderForm(request.POST or None)
    link = reader = None
    if request.method == "POST" and form.is_valid():
        try:
            reader, link = invitations.create_reader(request.user, request=request, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Created the reader {reader.get_username()}. Hand over the link below; it works once.")
            form = ReaderForm()
    return render(request, "studies/coordinator/readers.html", {"form": form, "readers": invitations.accounts(), "link": link, "link_for": reader.get_username() if reader else None})


@require_POST
def reader_invite(request, user_id):
    policy.require(request.user, policy.ACCOUNTS_MANAGE)
    reader = get_object_or_404(invitations.accounts(), pk=user_id)
    try:
        link = invitations.reissue_link(reader, request.user, request=request)
    except (Conflict, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("studies:readers")
    return render(request, "studies/coordinator/readers.html", {"form": ReaderForm(), "readers": invitations.accounts(), "link": link, "link_for": reader.get_username()})


@method_decorator(login_not_required, name="dispatch")
class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page behind an invitation link: the reader chooses a password, which voids the link."""

    template_name = "studies/coordinator/set_password.html"
    success_url = reverse_lazy("login")
    reset_url_token = "set-password"

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(form.user, "reader.password_set", form.user, request=self.request)
        messages.success(self.request, "Your password is set. Log in to start reading.")
        return response
