"""Guest checkout through the graph, with the strict scripted model, on a new shop that has no customers: the card is
vaulted before any model sees it, the order is proposed and waits for an explicit yes, placing it creates the
customer and makes the conversation theirs; later, the returning guest verifies by email like anyone else."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.payments.vault import default_vault
from shopkeep.shop.catalog import import_catalog
from shopkeep.shop.setup import init_shop
from shopkeep.store import open_store
from shopkeep.tools import ToolContext
from tests.llm.providers.support import FixedRouter
from tests.shop.conftest import CATALOGS, HARBOR
from tests.support.scripted_model import ScriptedChatModel, call, say

GUEST = {"email": "ines.moreau@example.fr", "first_name": "Inès", "last_name": "Moreau"}
ADDRESS = {"address1": "41 Orchard Lane", "city": "Portland", "state": "OR", "zip": "97205"}


def test_a_guest_checks_out_in_chat_and_comes_back_verified_by_email(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    init_shop(store, HARBOR)
    import_catalog(store, [CATALOGS / "harbor_products.jsonl"])
    with store.session() as session:
        assert session.list_customers() == []  # a new shop has no customers
        candle = next(p for p in session.list_products() if p.source_id == "driftwood-candle")
    small = next(v for v in candle.variants.values() if v.options == {"size": "Small"})

    model = ScriptedChatModel(steps=[call("add_to_cart", item_id=small.item_id), say("It's in your cart.")])
    router = FixedRouter("checkout")
    deps = AgentDeps(store=store, brains=lambda _agent: model, router=router, registry=agent_registry())
    service = ConversationService(build_graph(deps, checkpointer=InMemorySaver()), store, vault=default_vault())
    cid = service.start()
    service.send(cid, "Please put a small Driftwood Soy Candle in my cart")

    model.steps.append(say("Thanks, I have your card."))
    service.send(cid, "I'll pay with my card 4242 4242 4242 4242")
    seen = str(model.calls[-1][-1].content)
    assert "4242 4242 4242 4242" not in seen
    token = seen.split("vault token ")[1].split("]")[0]

    checkout = {"shipping_method": "standard", "payment_method_id": token, **GUEST, **ADDRESS}
    quote = agent_registry().call("propose_checkout", checkout, ToolContext(store=store, scope="customer", cart_id=cid))
    assert quote.ok, quote.error
    model.steps.append(call("place_order", quote_id=quote.value.quote_id, **checkout))
    proposal = service.send(
        cid, "No account, check out as a guest: Inès Moreau, ines.moreau@example.fr, 41 Orchard Lane, Portland OR 97205"
    )
    assert proposal.awaiting_confirmation
    assert "Checking out as a guest: this creates an account for ines.moreau@example.fr." in proposal.reply
    with store.session() as session:
        assert session.list_customers() == [] and session.list_orders() == []  # nothing before the yes

    model.steps.append(say("Your order is placed. Thank you!"))
    placed = service.send(cid, "yes")
    assert placed.reply == "Your order is placed. Thank you!"
    with store.session() as session:
        (customer,) = session.list_customers()
        (order,) = session.list_orders()
    assert customer.email == "ines.moreau@example.fr" and customer.orders == [order.order_id]
    assert service.values(cid)["customer_id"] == customer.user_id  # the conversation is the new customer's
    (recorded,) = [e for e in service.transcript(cid) if e.kind == "order"]  # what analytics count revenue from
    charged = sum((p.amount for p in order.payment_history), Decimal(0))
    assert recorded.payload == {"order_id": order.order_id, "value": str(charged), "currency": "USD"}
    assert charged > 0 and recorded.customer_id == customer.user_id
    model.assert_done()

    # Another day, another conversation: the returning guest verifies by email and sees the order.
    router.agent = "orders"
    model.steps += [
        call("find_user_id_by_email", email="ines.moreau@example.fr"),
        call("get_order_details", order_id=order.order_id),
        say("I found your order."),
    ]
    later = service.start()
    reply = service.send(later, f"Hi, it's ines.moreau@example.fr, what's the status of {order.order_id}?")
    assert reply.reply == "I found your order."
    assert service.values(later)["customer_id"] == customer.user_id
    model.assert_done()
    store.close()
