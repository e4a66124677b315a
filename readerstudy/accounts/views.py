from django.shortcuts import render


def home(request):
    """The landing page: what this user can do, by role."""
    return render(request, "home.html")
