"""The support specialist: greetings and small talk, what the assistant can do, and out-of-scope refusals.

Knowledge-base answers (with citations) join here once ``search_knowledge`` is bound to this agent.
"""

from __future__ import annotations

from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies.base import ANYTHING_ELSE, Say, Step

CAPABILITIES = (
    "I can help you find products, manage your cart, check an order's status and tracking, cancel or change a pending "
    "order, return or exchange delivered items, update your address, and answer questions about our policies. "
    "I can also pass you to a human colleague."
)
SMALL_TALK = {
    "greeting": f"Hi! I'm the Shopkeep Demo Store assistant. {CAPABILITIES} What can I do for you?",
    "capabilities": CAPABILITIES,
    "goodbye": "Thanks for visiting the Shopkeep Demo Store. Goodbye!",
    "thanks": f"You're welcome! {ANYTHING_ELSE}",
    "affirm": "Great. What would you like to do next?",
    "deny": f"No problem. {ANYTHING_ELSE}",
    "chitchat": f"I'm just a shop assistant, but happy to chat about our products. {ANYTHING_ELSE}",
}
OUT_OF_SCOPE = (
    "Sorry, I can only help with shopping at this store: products, your cart, orders, returns and our policies. "
    f"Could you rephrase what you need? {CAPABILITIES}"
)


def decide(dialog: Dialog) -> Step:
    turn = dialog.last_turn
    if turn is None:
        return Say(SMALL_TALK["greeting"])
    if turn.nlu.intent in SMALL_TALK:
        return Say(SMALL_TALK[turn.nlu.intent])
    return Say(OUT_OF_SCOPE)
