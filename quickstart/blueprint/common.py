"""Small builders shared by the web and edge property models."""

from __future__ import annotations

from typing import Any


def property_names(domain: str) -> dict[str, str]:
    """The names of everything quickstart creates for a domain (the domain is the prefix, as in Adobe's quick start)."""
    return {
        "web": f"{domain} Meta CAPI (Tags)",
        "edge": f"{domain} Meta CAPI (Event Forwarding)",
        "datastream": f"{domain} Meta CAPI",
        "token_secret": f"{domain} Meta CAPI token (development)",  # one per stage: token_secret_name()
        "library": "Meta CAPI quick start",
    }


def extension(package: str, descriptor: str | None = None, settings: dict | None = None) -> dict[str, Any]:
    ext: dict[str, Any] = {"package": package}
    if descriptor is not None:
        ext["delegate_descriptor_id"] = descriptor
        ext["settings"] = settings if settings is not None else {}
    return ext


def data_element(name: str, package: str, descriptor: str, settings: dict, why: str) -> dict[str, Any]:
    """``why`` documents the element here, in the code; Reactor has no field for it."""
    return {
        "name": name,
        "extension": package,
        "delegate_descriptor_id": descriptor,
        "settings": settings,
    }


def component(name: str, package: str, descriptor: str, settings: dict, order: int) -> dict[str, Any]:
    return {
        "name": name,
        "extension": package,
        "delegate_descriptor_id": descriptor,
        "settings": settings,
        "order": order,
    }


DEVELOPMENT_ENVIRONMENT = {"name": "Development", "stage": "development", "host": "Managed by Adobe"}
# One environment per stage, on the one Adobe-managed host (reference §2.4: one staging and one
# production environment per property); publishing moves a library through them.
ENVIRONMENTS = [DEVELOPMENT_ENVIRONMENT,
                {"name": "Staging", "stage": "staging", "host": "Managed by Adobe"},
                {"name": "Production", "stage": "production", "host": "Managed by Adobe"}]


def token_secret_name(domain: str, stage: str) -> str:
    return f"{domain} Meta CAPI token ({stage})"
