"""Single sign-on with OpenID Connect, through mozilla-django-oidc: on when OIDC_ISSUER is set.

provider.py finds the provider's endpoints, backend.py turns a verified sign-in into a user (and
their group-made team memberships), views.py starts and ends the sign-in at the provider.
"""
