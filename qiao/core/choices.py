"""Django's side of :mod:`qiao.core.vocab`: translated labels and model choices.

A model's ``TextChoices`` lists its members (code references such as ``Role.CM`` stay typed) and
takes each member from the vocabulary with :func:`choice`, which fails at import for a code the
vocabulary does not have; ``tests/test_vocab.py`` checks that every class has every code, in order.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from qiao.core.vocab import Term, Vocabulary


def term_label(term: Term) -> Promise:
    """The term's label, translated lazily (in the vocabulary's context, if any)."""
    if term.context:
        return pgettext_lazy(term.context, term.label)
    return gettext_lazy(term.label)


def choice(vocab: Vocabulary, code: str) -> tuple[str, Promise]:
    """``(code, translated label)`` for a ``TextChoices`` member; ``KeyError`` if unknown."""
    return code, term_label(vocab[code])


def choices(vocab: Vocabulary) -> list[tuple[str, Promise]]:
    """The vocabulary as a field's ``choices``, in its order."""
    return [(t.code, term_label(t)) for t in vocab]


def labels(vocab: Vocabulary) -> dict[str, Promise]:
    """Code → translated label, in the vocabulary's order."""
    return {t.code: term_label(t) for t in vocab}
