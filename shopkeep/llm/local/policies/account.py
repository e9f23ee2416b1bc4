"""The account specialist: identify the customer, show the profile, change the default address."""

from __future__ import annotations

from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies import orders
from shopkeep.llm.local.policies.base import ANYTHING_ELSE, Say, Step
from shopkeep.llm.local.policies.identity import identify


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and event.name == "modify_user_address":
        return orders.decide(dialog)
    step = identify(dialog)
    if step is not None:
        return step
    task = orders.active_task(dialog)
    if task is not None and task.kind == "user_address":
        return orders.decide(dialog)
    user = dialog.user
    if event is not None and event.name.startswith("find_user_id") and event.ok:
        return Say(f"Thanks, you're verified. {ANYTHING_ELSE}")
    if user is not None:
        address = user["address"]
        return Say(
            f"Your account: {user['name']['first_name']} {user['name']['last_name']}, {user['email']}, default "
            f"address {address['address1']}, {address['city']}, {address['state']} {address['zip']}. {ANYTHING_ELSE}"
        )
    return Say(f"You're verified. {ANYTHING_ELSE}")
