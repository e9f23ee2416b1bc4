"""Ten representative conversations for the token benchmark, on the demo store.

Each turn is the customer's message, the specialist the router sends it to, and the model's decisions for that
turn (tool calls and the final reply), as a capable LLM would make them. A consequential call pauses the turn for
the customer's "yes"; the decisions after the confirmed action belong to the "yes" turn. The same decisions are
replayed for the baseline and for the graph, so the comparison measures only what each design sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage


def call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{name}"}])


def say(text: str) -> AIMessage:
    return AIMessage(content=text)


VERIFY = say("I can help with that. First, please give me your email address, or your full name and zip code.")


@dataclass(frozen=True)
class Turn:
    user: str
    agent: str
    steps: tuple[AIMessage, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    turns: tuple[Turn, ...]


def _t(user: str, agent: str, *steps: AIMessage) -> Turn:
    return Turn(user, agent, steps)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "order status",
        (
            _t("Hi, where is my order #W6893533?", "orders", VERIFY),
            _t(
                "ivan.santos3158@example.com",
                "orders",
                call("find_user_id_by_email", email="ivan.santos3158@example.com"),
                call("get_order_details", order_id="#W6893533"),
                say("Order #W6893533 (a garden hose and wireless earbuds) has been delivered."),
            ),
            _t("Great, thanks!", "orders", say("You're welcome! Anything else I can do for you?")),
        ),
    ),
    Scenario(
        "cancel a pending order",
        (
            _t("I want to cancel order #W8770097", "orders", VERIFY),
            _t(
                "Ivan Santos, zip 75277",
                "orders",
                call("find_user_id_by_name_zip", first_name="Ivan", last_name="Santos", zip="75277"),
                call("get_order_details", order_id="#W8770097"),
                say("Order #W8770097 (an office chair) is pending. Is it no longer needed, or ordered by mistake?"),
            ),
            _t(
                "no longer needed",
                "orders",
                call("cancel_pending_order", order_id="#W8770097", reason="no longer needed"),
            ),
            _t("yes", "orders", say("Done: order #W8770097 is cancelled and PayPal will be refunded in 5-7 days.")),
        ),
    ),
    Scenario(
        "return delivered items",
        (
            _t("I'd like to return the headphones from order #W7736708", "orders", VERIFY),
            _t(
                "raj.sanchez2046@example.com",
                "orders",
                call("find_user_id_by_email", email="raj.sanchez2046@example.com"),
                call("get_order_details", order_id="#W7736708"),
                say("Found it. Only the red on-ear headphones? The refund can go to your credit card or gift card."),
            ),
            _t(
                "Just the headphones, back to my credit card.",
                "orders",
                call(
                    "return_delivered_order_items",
                    order_id="#W7736708",
                    item_ids=["3104857380"],
                    payment_method_id="credit_card_3362387",
                ),
            ),
            _t("yes", "orders", say("Your return is requested; you'll get an email with the instructions.")),
        ),
    ),
    Scenario(
        "exchange for another size",
        (
            _t("Hello, the hiking boots from #W1713682 are too small, can I exchange them?", "orders", VERIFY),
            _t(
                "isabella.sanchez6218@example.com",
                "orders",
                call("find_user_id_by_email", email="isabella.sanchez6218@example.com"),
                call("get_order_details", order_id="#W1713682"),
                call("get_product_details", product_id="7363354090"),
                say("You have size 7 leather waterproof boots. Size 9 leather waterproof is available. Want that?"),
            ),
            _t(
                "Yes, size 9 please, pay any difference with PayPal",
                "orders",
                call(
                    "exchange_delivered_order_items",
                    order_id="#W1713682",
                    item_ids=["3812493782"],
                    new_item_ids=["8106223139"],
                    payment_method_id="paypal_8516781",
                ),
            ),
            _t("yes", "orders", say("Exchange requested. You'll receive an email with the return instructions.")),
        ),
    ),
    Scenario(
        "change a pending order's address",
        (
            _t("Can you ship order #W3168895 to my office instead?", "orders", VERIFY),
            _t(
                "olivia.jackson2465@example.com",
                "orders",
                call("find_user_id_by_email", email="olivia.jackson2465@example.com"),
                call("get_order_details", order_id="#W3168895"),
                say("Order #W3168895 is pending, so I can change it. What's the full new address?"),
            ),
            _t(
                "445 Market Street, Suite 12, San Francisco, CA 94105, USA",
                "orders",
                call(
                    "modify_pending_order_address",
                    order_id="#W3168895",
                    address1="445 Market Street",
                    address2="Suite 12",
                    city="San Francisco",
                    state="CA",
                    country="USA",
                    zip="94105",
                ),
            ),
            _t("yes", "orders", say("Done: order #W3168895 will ship to 445 Market Street, Suite 12.")),
        ),
    ),
    Scenario(
        "browse the catalog and fill the cart",
        (
            _t(
                "What kinds of things do you sell?",
                "catalog",
                call("list_all_product_types"),
                say("We sell 50 kinds of products, from T-shirts and laptops to water bottles. Anything in mind?"),
            ),
            _t(
                "Tell me about the water bottles",
                "catalog",
                call("get_product_details", product_id="8310926033"),
                say("Water bottles come in 500ml, 750ml and 1000ml, glass, plastic or stainless steel."),
            ),
            _t(
                "Add the 750ml stainless steel blue one to my cart",
                "cart",
                call("add_to_cart", item_id="7843064651", quantity=1),
                say("Added: Water Bottle, 750ml, stainless steel, blue."),
            ),
            _t("What's in my cart now?", "cart", call("view_cart"), say("One water bottle (750ml, blue).")),
        ),
    ),
    Scenario(
        "policy questions, then a human",
        (
            _t("What's your return policy?", "support", say("Delivered orders can be returned once; see our policy.")),
            _t("How long do refunds take?", "support", say("Gift cards at once; cards and PayPal in 5-7 days.")),
            _t(
                "I want to talk to a person about a warranty claim",
                "escalation",
                call("transfer_to_human_agents", summary="Customer wants to make a warranty claim."),
                say("A human agent will take over shortly; please hold on."),
            ),
        ),
    ),
    Scenario(
        "change the default address",
        (
            _t("I moved, please update my address", "account", VERIFY),
            _t(
                "sofia.li7352@example.com",
                "account",
                call("find_user_id_by_email", email="sofia.li7352@example.com"),
                say("Thanks, Sofia. What's your new address?"),
            ),
            _t(
                "12 Oak Lane, Austin, TX 78701, USA",
                "account",
                call(
                    "modify_user_address",
                    user_id="sofia_li_9219",
                    address1="12 Oak Lane",
                    address2="",
                    city="Austin",
                    state="TX",
                    country="USA",
                    zip="78701",
                ),
            ),
            _t("yes", "account", say("Your default address is now 12 Oak Lane, Austin, TX 78701.")),
        ),
    ),
    Scenario(
        "several requests in one conversation",
        (
            _t("Hi, I have a few questions about my orders", "orders", VERIFY),
            _t(
                "sofia.li7352@example.com",
                "orders",
                call("find_user_id_by_email", email="sofia.li7352@example.com"),
                call("get_user_details", user_id="sofia_li_9219"),
                say("Thanks, Sofia. I see four orders. Which one?"),
            ),
            _t(
                "What's the status of #W8855135?",
                "orders",
                call("get_order_details", order_id="#W8855135"),
                say("#W8855135 is pending: an air purifier, hiking boots, a skateboard and a yoga mat."),
            ),
            _t(
                "And #W4689314?",
                "orders",
                call("get_order_details", order_id="#W4689314"),
                say("#W4689314 (a digital camera) was delivered."),
            ),
            _t(
                "And #W5416052?",
                "orders",
                call("get_order_details", order_id="#W5416052"),
                say("#W5416052 was delivered: a pet bed, a helmet, earbuds, a puzzle and a smart watch."),
            ),
            _t(
                "I want to return the camera to the original card",
                "orders",
                call(
                    "return_delivered_order_items",
                    order_id="#W4689314",
                    item_ids=["5996159312"],
                    payment_method_id="credit_card_8105988",
                ),
            ),
            _t("yes", "orders", say("Return requested for the camera; the refund goes to your card.")),
            _t(
                "Also, cancel #W8855135, I ordered it by mistake",
                "orders",
                call("cancel_pending_order", order_id="#W8855135", reason="ordered by mistake"),
            ),
            _t("yes", "orders", say("Order #W8855135 is cancelled.")),
            _t("That's all, thanks", "orders", say("You're welcome, Sofia. Have a good day!")),
        ),
    ),
    Scenario(
        "change a pending order's payment",
        (
            _t("Can I pay for order #W9300146 differently?", "orders", VERIFY),
            _t(
                "Aarav Anderson, 19031",
                "orders",
                call("find_user_id_by_name_zip", first_name="Aarav", last_name="Anderson", zip="19031"),
                call("get_order_details", order_id="#W9300146"),
                call("get_user_details", user_id="aarav_anderson_8794"),
                say("#W9300146 is paid with your gift card, the only payment method on your account."),
            ),
            _t("Oh OK, never mind then.", "orders", say("No problem. Anything else?")),
        ),
    ),
)
