"""``{% atproto_me_box %}``: the AT Protocol box of /me (linked account, or the offer to create
one on the site's own PDS), rendered by the federation app so /me need not know its settings."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from federation.links import record_page_url
from federation.selectors import atproto_account_get
from federation.services.site_pds import handle_name_from, site_pds, site_pds_handle_domain

register = template.Library()


@register.inclusion_tag("federation/_me_atproto.html", takes_context=True)
def atproto_me_box(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    out: dict[str, Any] = {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "account": atproto_account_get(user=user),
        "site_pds": None,
    }
    pds = site_pds()
    if out["account"] is None and pds is not None and isinstance(user, User):
        out.update(
            site_pds=pds,
            site_pds_domain=site_pds_handle_domain(pds),
            handle_name=handle_name_from(user.username),
        )
    return out


@register.filter
def at_record_page(uri: str) -> str:
    """``{{ tape.at.uri|at_record_page }}``: the site's page of that record ('' if none)."""
    return record_page_url(str(uri or "")) or ""
