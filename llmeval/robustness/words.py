"""Small built-in tables for perturbations: keyboard neighbours, synonyms, look-alikes, distractors."""

from __future__ import annotations

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Letters next to each letter on a QWERTY keyboard (same row, and the rows above and below)."""
    pos = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    near: dict[str, str] = {}
    for ch, (r, c) in pos.items():
        near[ch] = "".join(o for o, (r2, c2) in pos.items() if o != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1)
    return near


KEYBOARD = _neighbours()

SYNONYMS: dict[str, tuple[str, ...]] = {
    "return": ("send back", "give back"),
    "item": ("product", "article", "thing"),
    "items": ("products", "articles"),
    "long": ("much time",),
    "get": ("receive", "obtain"),
    "buy": ("purchase",),
    "bought": ("purchased",),
    "order": ("purchase",),
    "cost": ("price",),
    "ship": ("send", "deliver"),
    "shipping": ("delivery", "postage"),
    "delivery": ("shipping",),
    "change": ("modify", "update", "alter"),
    "cancel": ("call off", "stop"),
    "help": ("assist", "support"),
    "quick": ("fast", "rapid"),
    "fast": ("quick", "speedy"),
    "big": ("large",),
    "small": ("little", "tiny"),
    "wrong": ("incorrect",),
    "damaged": ("broken",),
    "provide": ("give", "offer", "supply"),
    "offer": ("provide",),
    "accept": ("take", "allow"),
    "can": ("may",),
    "how": ("in what way",),
    "when": ("at what time",),
    "find": ("locate",),
    "summarise": ("sum up",),
    "summarize": ("sum up",),
    "answer": ("reply", "respond"),
    "question": ("query",),
    "customer": ("client", "buyer"),
    "money": ("cash", "funds"),
    "refund": ("reimbursement", "money back"),
    "start": ("begin",),
    "open": ("unsealed",),
    "track": ("follow", "trace"),
}

# Latin letter -> a Cyrillic or Greek character that looks the same.
HOMOGLYPHS: dict[str, str] = {
    "a": "\u0430",
    "c": "\u0441",
    "e": "\u0435",
    "i": "\u0456",
    "o": "\u043e",
    "p": "\u0440",
    "x": "\u0445",
    "y": "\u0443",
    "A": "\u0391",
    "B": "\u0392",
    "E": "\u0395",
    "H": "\u0397",
    "K": "\u039a",
    "M": "\u039c",
    "O": "\u039f",
    "P": "\u03a1",
    "T": "\u03a4",
    "X": "\u03a7",
}

DISTRACTORS = (
    "By the way, the weather is lovely today.",
    "I am writing from my phone.",
    "My cat is sitting on the keyboard.",
    "Thanks in advance.",
    "I asked a friend and they were not sure.",
    "This is my first time shopping here.",
)
