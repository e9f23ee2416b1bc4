"""The abuse rail: insults, threats and harassment get a polite, firm reply; frustration does not.

Customers swear about late parcels ("where the hell is my order"), and that is a request, not abuse. So:

- **threats and harassment** (violence, "kill yourself", sexual remarks, slurs) are always refused with a template;
- **insults aimed at the assistant or staff** (a lexicon of "you idiot", "fuck off", "stupid bot"...), or a
  message the screen classifier (``screen.py``) scores as abuse, are refused when there is no request in the
  message; when there is one (an order number, an email, shop words), the request goes on and the reply starts
  with a short request to keep it respectful.

Repeated abuse in one conversation adds an offer of a human colleague (``input_guard`` counts the trips).
Swearing that is not aimed at anyone passes.
"""

from __future__ import annotations

import re

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.normalize import normalize
from shopkeep.guardrails.screen import Screen
from shopkeep.replies import reply

NAME = "abuse"
CLASSIFIER_THRESHOLD = 0.80
SIMILARITY_FLOOR = 0.40

_INSULTS = (
    r"(idiot|idiots|moron|morons|stupid|dumb|dumbass|useless|worthless|pathetic|loser|trash|garbage|scum|scumbag"
    r"|imbecile|cretin|clown|bitch|bastard|asshole|twat|braindead|brain dead|brainless|incompetent|retard|retarded"
    r"|piece of (shit|crap|junk|garbage)|waste of (space|electricity|time))"
)
SEVERE = re.compile(
    r"\b(kill|hurt|beat|stab|shoot|find) (you|yourself|someone|somebody|your (staff|employees?|agents?|people))\b"
    r"|\b(kys|die in a fire|go die|drop dead)\b|\bkill it with fire\b"
    r"|\b(bomb|burn( down)?|blow up|torch)\s+(your|the)\s+(store|shop|warehouse|office|company|building)"
    r"|\bi know where (you|your \w+) live\b|\bhunt (you |them )?down\b"
    r"|\b(send (me )?(nudes|pics)|suck my|talk dirty|what are you wearing|show me your body)\b"
    r"|\b(faggot|nigger|nigga|tranny|kike|spic|chink)s?\b"
)
DIRECTED = re.compile(
    r"\b(fuck|screw|f) (you|u|off|yourself|this (stupid |dumb |useless )?(bot|machine|thing|store|shop|company))\b"
    r"|\bgo (fuck|screw) yourself\b|\b(shut up|shut your mouth|stfu|gtfo|piss off|eat shit|get lost|go to hell)\b"
    rf"|\b(you|u|you're|youre|ur|you are|your (staff|team|agents|people|makers|developers|company))\s+"
    rf"(are\s+|r\s+)?(such\s+|so\s+|a\s+|an\s+|the\s+|a bunch of\s+|complete\s+|absolute\s+|utter\s+|fucking\s+|"
    rf"fuckin\s+|f\*+ing\s+)*{_INSULTS}\b"
    rf"|\b{_INSULTS}\s+(bot|machine|robot|assistant|ai|thing|store|shop|company)\b"
    rf"|^\s*(you\s+)?((fucking|complete|absolute|utter|such an?|an?)\s+)*{_INSULTS}[\s!.?]*$"
)
# A message with one of these still asks for something the assistant can do.
REQUEST = re.compile(
    r"#?w\d{7}\b|[\w.+-]+@[\w-]+\.[\w.]+|\b(order|orders|refund|return|cancel|exchange|cart|deliver\w*|package|parcel"
    r"|ship\w*|track\w*|price|buy|account|payment|card|charged|item|size|colou?r|product|address|invoice|receipt"
    r"|gift card|discount|promo)\b"
)


class AbuseRail:
    """Input rail: refuses abusive messages (lexicon, plus ``screen`` when given); frustration passes."""

    name = NAME

    def __init__(self, screen: Screen | None = None) -> None:
        self._screen = screen

    def __call__(self, text: str) -> RailResult:
        view = normalize(text)
        severe = SEVERE.search(view.screening)
        if severe is not None:
            return self._refuse(text, "threat or harassment")
        detail = "insult" if DIRECTED.search(view.screening) else None
        if detail is None and self._screen is not None and view.clean.strip():
            scores = self._screen.scores(view.clean)
            if scores.abuse >= CLASSIFIER_THRESHOLD and scores.abuse_like >= SIMILARITY_FLOOR:
                detail = f"classifier p={scores.abuse:.2f} sim={scores.abuse_like:.2f}"
        if detail is None:
            return RailResult(name=NAME, stage=Stage.INPUT, tripped=False, text=text)
        if REQUEST.search(view.clean.lower()):
            return RailResult(
                name=NAME,
                stage=Stage.INPUT,
                tripped=True,
                text=text,
                reason=reply("guardrails.abuse_notice"),
                detail=detail,
            )
        return self._refuse(text, detail)

    @staticmethod
    def _refuse(text: str, detail: str) -> RailResult:
        return RailResult(
            name=NAME,
            stage=Stage.INPUT,
            tripped=True,
            text=text,
            reason=reply("guardrails.abuse_refusal"),
            blocked=True,
            detail=detail,
        )
