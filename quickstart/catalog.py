"""The event catalog: Meta's 17 standard events plus PageView (DESIGN §4).

Tags rules, event forwarding rules, ``snippets/data-layer.js`` and the test events all derive
from this table; nothing else restates it. Sources: reference/meta-capi.md §5.2 (events,
recommended and required parameters) and reference/adobe-reactor.md §4.1 (Pixel actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quickstart.blueprint.descriptors import PIXEL as PIXEL_PACKAGE  # noqa: E402  (catalog's name for it)


@dataclass(frozen=True)
class Event:
    name: str  # Meta's event name, also the rule suffix: MetaConversion_<name>
    pixel_action: str  # the Meta Pixel extension action (delegate name)
    params: tuple[str, ...]  # custom_data keys the site may fill (all accepted by the Pixel action)
    required: tuple[str, ...] = ()  # custom_data keys Meta requires for this event
    fires_on_load: bool = False  # PageView also fires on Library Loaded (the direct call is for SPA navigation)

    @property
    def rule_name(self) -> str:
        return f"MetaConversion_{self.name}"

    @property
    def direct_call(self) -> str:
        """The `_satellite.track()` identifier that fires this event's rule (metaConversion.track's target)."""
        return self.rule_name

    @property
    def pixel_descriptor(self) -> str:
        return f"{PIXEL_PACKAGE}::actions::{self.pixel_action}"

    def sample_custom_data(self) -> dict[str, Any]:
        return {key: CUSTOM_DATA_SAMPLES[key] for key in self.params}


# custom_data keys (Meta's website names) with a sample value each: the data layer uses these
# keys, the test events send these values.
CUSTOM_DATA_SAMPLES: dict[str, Any] = {
    "value": 42.5,
    "currency": "USD",
    "content_ids": ["SKU-123"],
    "contents": [{"id": "SKU-123", "quantity": 1}],
    "content_type": "product",
    "content_name": "Sample product",
    "content_category": "Samples",
    "num_items": 1,
    "predicted_ltv": 120.0,
    "search_string": "running shoes",
    "status": "completed",
}

# Customer information the site may put under <path>.user: the CAPI extension's field names,
# each with the CAPI user_data key it becomes and a sample (raw; hashed on the server).
USER_FIELDS: dict[str, str] = {
    "email": "em",
    "phone": "ph",
    "firstName": "fn",
    "lastName": "ln",
    "dob": "db",
    "gender": "ge",
    "city": "ct",
    "state": "st",
    "zip": "zp",
    "country": "country",
    "externalId": "external_id",
}

USER_SAMPLES: dict[str, str] = {
    "email": "jane.doe@example.com",
    "phone": "+1 (650) 555-1212",
    "firstName": "Jane",
    "lastName": "Doe",
    "dob": "1990-05-26",
    "gender": "f",
    "city": "Menlo Park",
    "state": "CA",
    "zip": "94025",
    "country": "US",
    "externalId": "user-42",
}

_COMMERCE = ("content_ids", "contents", "currency", "value")

EVENTS: tuple[Event, ...] = (
    Event("PageView", "send-page-view", (), fires_on_load=True),
    Event("AddPaymentInfo", "send-add-payment-info-event", ("content_category", *_COMMERCE)),
    Event("AddToCart", "send-add-to-cart-event", ("content_ids", "content_name", "content_type", "contents", "currency", "value")),
    Event("AddToWishlist", "add-to-wishlist-event", ("content_category", "content_ids", "content_name", "contents", "currency", "value")),
    Event("CompleteRegistration", "send-complete-registration-event", ("content_name", "currency", "status", "value")),
    Event("Contact", "send-contact-event", ()),
    Event("CustomizeProduct", "send-customize-product-event", ()),
    Event("Donate", "send-donate-event", ()),
    Event("FindLocation", "send-find-location-event", ()),
    Event("InitiateCheckout", "send-initiate-checkout-event", ("content_category", "content_ids", "contents", "currency", "num_items", "value")),
    Event("Lead", "send-lead-event", ("content_category", "content_name", "currency", "value")),
    Event(
        "Purchase",
        "send-purchase-event",
        ("content_ids", "content_name", "content_type", "contents", "currency", "num_items", "value"),
        required=("currency", "value"),
    ),
    Event("Schedule", "send-schedule-event", ()),
    Event("Search", "send-search-event", ("content_category", "content_ids", "contents", "currency", "search_string", "value")),
    Event("StartTrial", "send-start-trial-event", ("currency", "predicted_ltv", "value")),
    Event("SubmitApplication", "send-submit-application-event", ()),
    Event("Subscribe", "send-subscribe-event", ("currency", "predicted_ltv", "value")),
    Event("ViewContent", "send-view-content-event", ("content_category", "content_ids", "content_name", "content_type", "contents", "currency", "value")),
)

EVENTS_BY_NAME: dict[str, Event] = {event.name: event for event in EVENTS}
EVENT_NAMES: tuple[str, ...] = tuple(EVENTS_BY_NAME)


def get(name: str) -> Event:
    return EVENTS_BY_NAME[name]


def select(names: list[str] | tuple[str, ...]) -> list[Event]:
    """The catalog events with these names, in catalog order."""
    wanted = set(names)
    return [event for event in EVENTS if event.name in wanted]


def data_element_name(key: str) -> str:
    """The data element name for a custom_data or user key: content_ids -> MetaConversion_ContentIds."""
    return "MetaConversion_" + "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def params_used(events: list[Event]) -> list[str]:
    """The custom_data keys of ``events``, in catalog order."""
    return [param for param in CUSTOM_DATA_SAMPLES if any(param in event.params for event in events)]


def sample_payload(event: Event) -> dict[str, Any]:
    """What a site passes to metaConversion.track() for ``event``: the sample custom data and raw
    customer information (hashed in the browser before anything leaves the page). The data layer
    snippet, validate's test events and validate --site's fired events are all this."""
    payload: dict[str, Any] = event.sample_custom_data()
    payload["user"] = dict(USER_SAMPLES)
    return payload
