"""Identifying the customer: by email, or by first name, last name and zip code, from anything they said."""

from __future__ import annotations

import re
from typing import Any

from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies.base import IDENTITY, Call, Say, Step

_BARE_ZIP = re.compile(r"(?<![\d#-])\d{5}(?![\d-])")


def _name(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and value.get("first_name") and value.get("last_name"):
        return str(value["first_name"]), str(value["last_name"])
    if isinstance(value, str) and len(value.split()) >= 2:
        parts = value.split()
        return parts[0], parts[-1]
    return None


def _zips(dialog: Dialog) -> list[str]:
    """Zip codes the customer gave, oldest first: those the NLU found, and any five digits that answer a question
    about the zip code ("46281" after "What is the zip code on your account?", "sorry, 10056" after a failed
    look-up), which carry no cue of their own."""
    found: list[str] = []
    for turn in dialog.turns:
        zips = [str(e.value) for e in turn.nlu.entities if e.type == "zip"]
        if not zips and turn.expects == IDENTITY and not turn.nlu.entities_of("address"):
            zips = _BARE_ZIP.findall(turn.text)
        found += zips
    return found


def identify(dialog: Dialog) -> Step | None:
    """The next step towards an authenticated customer, or None when the conversation already has one."""
    if dialog.customer_id is not None:
        return None
    emails = dialog.entities("email")
    latest = dialog.last_turn
    if latest is not None and len({str(e.value).lower() for e in latest.nlu.entities_of("email")}) > 1:
        # never pick one of two accounts for the customer
        return Say(dialog.reply("identity.which_email"), expects=IDENTITY)
    if emails:
        email = str(emails[-1].value)
        if dialog.tried("find_user_id_by_email", email=email) is None:
            return Call("find_user_id_by_email", {"email": email})
    names = [n for e in dialog.entities("person_name") if (n := _name(e.value))]
    # A zip said on its own is the account's; one inside an address ("ship to ... 10001") is only a fallback.
    zips = _zips(dialog) or [
        str(e.value["zip"]) for e in dialog.entities("address") if isinstance(e.value, dict) and e.value.get("zip")
    ]
    if names and zips:
        (first, last), zip_code = names[-1], zips[-1]
        if dialog.tried("find_user_id_by_name_zip", first_name=first, last_name=last, zip=zip_code) is None:
            return Call("find_user_id_by_name_zip", {"first_name": first, "last_name": last, "zip": zip_code})
    if any(e.name.startswith("find_user_id") and not e.ok for e in dialog.events):
        return Say(dialog.reply("identity.not_found"), expects=IDENTITY)
    if names and not zips:
        return Say(dialog.reply("identity.ask_zip"), expects=IDENTITY)
    return Say(dialog.reply("identity.ask"), expects=IDENTITY)
