"""The datastream: the Edge Network configuration that forwards Web SDK events to the edge property."""

from __future__ import annotations

from typing import Any

from quickstart.blueprint.common import property_names
from quickstart.settings import PENDING_DATASTREAM_ID

EVENT_FORWARDING_SERVICE = "com_adobe_launch_ssf"  # the datastream's Event Forwarding service key


def build_datastream(answers) -> dict[str, Any]:
    names = property_names(answers.domain)
    return {
        "datastream": {
            "title": names["datastream"],
            "id": answers.datastream_id or PENDING_DATASTREAM_ID,
            "enabled": True,
        },
        # The Event Forwarding service; `apply` fills in the property and environment ids.
        "services": {
            EVENT_FORWARDING_SERVICE: {
                "enabled": True,
                "property": names["edge"],
                "environment": "development",
            }
        },
    }
