"""The djoser reference of `make bench`: a stock djoser + simplejwt project, run
from its own virtualenv (requirements.txt), never imported by the service."""
