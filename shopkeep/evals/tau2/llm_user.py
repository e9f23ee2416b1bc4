"""The LLM user: a configured chat model plays the customer of a τ² task, as τ²-bench's user simulator does.

It has the oracle user's interface (``opening``, ``respond``, ``finished``), so the harness runs either. The model
gets a system prompt written from the task's instructions (reason for calling, what the customer knows and does
not know, how to behave), sees the assistant's replies as the other side of the chat, and ends the conversation
with τ²'s control words: ``###STOP###`` when done, ``###TRANSFER###`` once handed to a human, ``###OUT-OF-SCOPE###``
when its instructions do not cover what it is asked. Answers are the model's own: unlike the oracle, it may
phrase, forget or refuse, which is exactly what comparing models on τ² needs.

The model comes from settings: the ``user`` agent's overrides (``SHOPKEEP_LLM__AGENTS__USER__MODEL``...) over
the global ``SHOPKEEP_LLM__*``; the local brain cannot play a customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from shopkeep.agents.service import TurnResult
from shopkeep.evals.tau2.tasks import Action, Tau2Task
from shopkeep.settings import Settings

STOP = "###STOP###"
TRANSFER = "###TRANSFER###"
OUT_OF_SCOPE = "###OUT-OF-SCOPE###"
CONTROL_WORDS = (STOP, TRANSFER, OUT_OF_SCOPE)
GREETING = "Hi! How can I help you today?"
HANDOFF_TOOL = "transfer_to_human_agents"
USER_AGENT = "user"

GUIDELINES = f"""\
You are playing a customer who is chatting with an online store's customer service assistant. Stay in this role
for the whole conversation; the scenario below is everything you know and want.

How to behave:
- Write one message at a time, short and natural, in the first person, as a real customer types in a chat.
- Do not reveal everything at once. Give a piece of information when the assistant asks for it or when it is
  needed to move on.
- Never make up facts the scenario does not give you (ids, names, addresses, payment methods, reasons). If you
  are asked for something you do not know, say so.
- Do not tell the assistant how to do its job, and never write as the assistant.
- When the assistant describes an action and asks you to confirm, say yes only if it is exactly what the
  scenario wants; otherwise say no and say what is wrong.
- Follow the scenario's instructions on what to accept, insist on or give up.
- When everything you wanted is done, or cannot be done, end the chat: write {STOP} alone as your message.
- If you are told you are being transferred to a human agent, write {TRANSFER} alone as your message.
- If you are asked something the scenario does not cover and you cannot go on, write {OUT_OF_SCOPE}."""


def system_prompt(task: Tau2Task) -> str:
    """The user simulator's instructions for one task (τ²'s layout: reason, known, unknown, task instructions)."""
    given = task.instructions
    parts = [GUIDELINES, "", "Scenario:"]
    if given.reason_for_call:
        parts.append(f"Why you are contacting the store: {given.reason_for_call}")
    if given.known_info:
        parts.append(f"What you know: {given.known_info}")
    if given.unknown_info:
        parts.append(f"What you do not know: {given.unknown_info}")
    if given.task_instructions:
        parts.append(f"Instructions: {given.task_instructions}")
    return "\n".join(parts)


class LLMUser:
    """One simulated customer for one task; ``respond`` returns the next message, or None once it has hung up."""

    def __init__(self, task: Tau2Task, model: BaseChatModel) -> None:
        self.task = task
        self.finished = False
        self.ending: str | None = None
        """The control word that ended the conversation (``###STOP###``...), if the user ended it."""
        self._model = model
        self._history: list[BaseMessage] = [SystemMessage(content=system_prompt(task))]

    def opening(self) -> str:
        message = self._speak(GREETING)
        return message if message is not None else "Hi."

    def respond(self, turn: TurnResult) -> str | None:
        if self.finished:
            return None
        if turn.mode == "human" or any(c.name == HANDOFF_TOOL and c.ok for c in turn.tool_calls):
            self.finished = True
            self.ending = TRANSFER
            return None
        return self._speak(turn.reply or "(no reply)")

    def _speak(self, assistant_said: str) -> str | None:
        # The roles flip: the assistant's replies are what this model is told; its own messages are its replies.
        self._history.append(HumanMessage(content=assistant_said))
        reply = self._model.invoke(self._history)
        text = reply.text.strip()
        self._history.append(AIMessage(content=text))
        for word in CONTROL_WORDS:
            if word in text:
                self.finished = True
                self.ending = word
                text = text.replace(word, "").strip()
                return None  # τ² does not send the closing message: the conversation is over
        return text or None

    @property
    def handed_off(self) -> bool:
        """Whether the conversation ended with a hand-off to a human."""
        return self.ending == TRANSFER

    @property
    def transcript(self) -> list[BaseMessage]:
        return list(self._history)


def llm_user_factory(settings: Settings, *, transport: Any = None) -> Any:
    """Builds an ``LLMUser`` per task on the configured model (``(task, db, writes) -> LLMUser``, like the oracle)."""
    from shopkeep.llm.config import ModelConfig
    from shopkeep.llm.providers import provider_model

    config = ModelConfig.for_agent(settings.llm, USER_AGENT)
    if config.provider == "local":
        raise ValueError(
            "the LLM user needs an LLM: set SHOPKEEP_LLM__PROVIDER (or SHOPKEEP_LLM__AGENTS__USER__PROVIDER) "
            "and its model"
        )
    model = provider_model(config, transport).model

    def build(task: Tau2Task, db: Mapping[str, Any], writes: list[Action] | None = None) -> LLMUser:
        return LLMUser(task, model)

    return build
