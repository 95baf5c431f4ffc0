"""WizardLM's elimination rules: why an evolved instruction or its answer is dropped.

Each rule returns a stable reason code (the `eliminated` field of a record and a key of
metrics/evolve.json) or None. Rules on the instruction run before it is answered, so an
instruction already eliminated costs no answer call.
"""

from __future__ import annotations

import re

from evolcoder.llm.prompts import PROMPT_PHRASES

EMPTY = "empty_instruction"
UNCHANGED = "unchanged_instruction"
COPIED = "copied_prompt_words"
NO_GAIN = "no_information_gain"
SORRY = "sorry_answer"
STOPWORDS = "stopwords_only_answer"
API_ERROR = "api_error"
REASONS = (EMPTY, UNCHANGED, COPIED, NO_GAIN, SORRY, STOPWORDS, API_ERROR)

SORRY_MAX_WORDS = 80
# English function words (NLTK's list, abridged): an answer made only of these says nothing.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves yes ok okay sure""".split()
)


def instruction_reason(parent_question: str, evolved: str) -> str | None:
    """Why an evolved instruction is eliminated before answering, or None to keep it."""
    if not evolved.strip():
        return EMPTY
    if _normalized(evolved) == _normalized(parent_question):
        return UNCHANGED
    lowered = evolved.lower()
    if any(phrase in lowered for phrase in PROMPT_PHRASES):
        return COPIED
    return None


def answer_reason(answer: str) -> str | None:
    """Why an answer eliminates its instruction, or None to keep it."""
    if "sorry" in answer.lower() and len(answer.split()) < SORRY_MAX_WORDS:
        return SORRY
    if all(word in STOP_WORDS for word in re.findall(r"\w+", answer.lower())):
        return STOPWORDS
    return None


def _normalized(text: str) -> str:
    return " ".join(text.split())
