"""The load mix for ``make load`` / ``make soak`` (locust): customers who browse, fill a cart, check out, change an
order, ask the help pages and ask for a person, each as a conversation of several messages through the HTTP API.

A turn is a ``POST /v1/conversations/{id}/messages``; locust names requests by scenario and step so the report
shows where time goes. Weights follow a shop's traffic: mostly browsing and questions, fewer purchases.
"""

from __future__ import annotations

from typing import Any

from locust import HttpUser, between, task

# Customers of the demo store with a pending order each, used round-robin (a cancelled order answers "not pending").
ORDER_OWNERS = [("mei.ahmed5231@example.com", "#W2631563")]

SCENARIOS: dict[str, list[str]] = {
    "browse": ["hi", "do you have headphones?", "which ones are wireless?", "thanks, bye"],
    "cart": ["add a yoga mat to my cart", "the pink one", "show me my cart", "remove the yoga mat"],
    "checkout": [
        "I want to buy the pink 5mm yoga mat",
        "noah.patel9232@example.com",
        "express please",
        "pay with my visa",
        "no",  # the proposal is declined: the load does not drain the demo store's stock and balances
    ],
    "faq": ["what is your return policy?", "how long does shipping take?", "thanks"],
    "escalation": ["this is the third time my order is late, I am really upset", "yes please"],
}


class Customer(HttpUser):
    wait_time = between(0.5, 2.0)

    def _conversation(self, name: str) -> None:
        started = self.client.post("/v1/conversations", name=f"{name}: start")
        if started.status_code != 201:
            return
        cid = started.json()["id"]
        for step, text in enumerate(SCENARIOS[name], 1):
            body: dict[str, Any] = {"text": text}
            self.client.post(f"/v1/conversations/{cid}/messages", json=body, name=f"{name}: turn {step}")

    @task(5)
    def browse(self) -> None:
        self._conversation("browse")

    @task(2)
    def cart(self) -> None:
        self._conversation("cart")

    @task(1)
    def checkout(self) -> None:
        self._conversation("checkout")

    @task(1)
    def order_change(self) -> None:
        email, order = ORDER_OWNERS[0]
        started = self.client.post("/v1/conversations", name="order change: start")
        if started.status_code != 201:
            return
        cid = started.json()["id"]
        for step, text in enumerate(
            [f"I want to cancel my order {order}", f"my email is {email}", "I no longer need it", "no"], 1
        ):
            self.client.post(
                f"/v1/conversations/{cid}/messages", json={"text": text}, name=f"order change: turn {step}"
            )

    @task(3)
    def faq(self) -> None:
        self._conversation("faq")

    @task(1)
    def escalation(self) -> None:
        self._conversation("escalation")
