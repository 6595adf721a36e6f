"""The page where a signed-in user links or unlinks their AT Protocol account."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.models import User
from federation import selectors, services
from federation.errors import public_message
from federation.services.accounts import pds_error
from federation.services.sessions import AccountAuthFailed
from federation.xrpc import XrpcError
from tapesite.errors import TapesiteError


@sensitive_post_parameters("app_password")
@login_required
@require_http_methods(["GET", "POST"])
def atproto_page(request: HttpRequest) -> HttpResponse:
    error: TapesiteError | None = None
    user = request.user
    assert isinstance(user, User)  # login_required
    if request.method == "POST":
        try:
            if request.POST.get("action") == "unlink":
                account = selectors.atproto_account_get(user=request.user)
                if account is not None and request.POST.get("delete_records"):
                    try:
                        services.atproto_records_delete_all(account=account)
                    except AccountAuthFailed as exc:
                        raise TapesiteError(
                            "pds_auth_failed", public_message("pds_auth_failed")
                        ) from exc
                    except XrpcError as exc:
                        raise pds_error(exc) from exc
                services.atproto_account_unlink(user=user)
            else:
                services.atproto_account_link(
                    user=user,
                    identifier=request.POST.get("identifier", ""),
                    app_password=request.POST.get("app_password", ""),
                )
            return redirect("federation_pages:page")
        except TapesiteError as exc:
            error = exc
    account = selectors.atproto_account_get(user=request.user)
    account_error = public_message(account.error_code) if account and account.error_code else ""
    return render(
        request,
        "federation/atproto.html",
        {"account": account, "account_error": account_error, "error": error},
        status=400 if error is not None else 200,
    )
