"""The HTML door. (Placeholder views: the pages issue fills this module in.)"""

from django.http import HttpResponse
from django.views import View


class HomeView(View):
    def get(self, request):
        return HttpResponse("Identity service")


class ResetPasswordView(View):
    def get(self, request, uidb64, token):
        return HttpResponse("Reset password")


class VerifyEmailView(View):
    def get(self, request, uidb64, token):
        return HttpResponse("Verify email")
