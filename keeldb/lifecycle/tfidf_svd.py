"""A model keeldb trains itself from the user's corpus: TF-IDF followed by truncated SVD.

Fitting uses scikit-learn (``TfidfVectorizer`` + ``TruncatedSVD``, the optional
extra ``keeldb[models]``); encoding needs only numpy, so a saved model loads
without scikit-learn and without unpickling anything.

Artifact directory (all plain data)::

    config.json       {"dim", "ngram_max", "sublinear_tf", "lowercase", "token_pattern"}
    vocabulary.json   JSON list of terms; position = column of the TF-IDF matrix
    idf.npy           float64 (V,)   inverse document frequencies
    components.npy    float32 (dim, V)   SVD components (rows)

Encoding (the same arithmetic as scikit-learn's ``transform``): tokens =
``\\b\\w\\w+\\b`` over the lower-cased text (plus word bigrams when
``ngram_max == 2``) → term counts over the vocabulary → ``1 + ln(tf)`` when
sublinear → × idf → L2-normalised row → × components.T → L2-normalised
(metric COSINE). Out-of-vocabulary terms are ignored; a text with none encodes
to the zero vector.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from keeldb.errors import InvalidArgument, Unimplemented
from keeldb.lifecycle.encoders import l2_normalize

__all__ = ["TfidfSvdEncoder", "train_tfidf_svd"]

_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class TfidfSvdEncoder:
    metric = "COSINE"
    normalize = True

    def __init__(
        self,
        vocabulary: list[str],
        idf: np.ndarray,
        components: np.ndarray,
        *,
        ngram_max: int = 1,
        sublinear_tf: bool = True,
    ) -> None:
        if components.shape[1] != len(vocabulary) or idf.shape != (len(vocabulary),):
            raise InvalidArgument(
                f"TF-IDF/SVD arrays disagree: vocabulary {len(vocabulary)}, idf {idf.shape}, "
                f"components {components.shape}"
            )
        self.vocabulary = {term: i for i, term in enumerate(vocabulary)}
        self.terms = list(vocabulary)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.components = np.ascontiguousarray(components, dtype=np.float32)
        self._projection = np.ascontiguousarray(self.components.T)  # (V, dim)
        self.dim = int(components.shape[0])
        self.ngram_max = int(ngram_max)
        self.sublinear_tf = bool(sublinear_tf)
        self._token = re.compile(_TOKEN_PATTERN)

    def _terms(self, text: str) -> list[str]:
        tokens = self._token.findall(str(text).lower())
        if self.ngram_max >= 2:
            tokens = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
        return tokens

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        vocab = self.vocabulary
        for row, text in enumerate(texts):
            counts = Counter(vocab[t] for t in self._terms(text) if t in vocab)
            if not counts:
                continue
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if self.sublinear_tf:
                tf = 1.0 + np.log(tf)
            weights = tf * self.idf[ids]
            weights /= np.linalg.norm(weights)
            out[row] = weights.astype(np.float32) @ self._projection[ids]
        return l2_normalize(out)

    # -- persistence -----------------------------------------------------------
    def save(self, directory: str) -> None:
        """Write the artifact files (plain JSON and .npy) into ``directory``."""
        os.makedirs(directory, exist_ok=True)
        config = {
            "dim": self.dim, "ngram_max": self.ngram_max, "sublinear_tf": self.sublinear_tf,
            "lowercase": True, "token_pattern": _TOKEN_PATTERN,
        }  # fmt: skip
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(config, f, sort_keys=True)
        with open(os.path.join(directory, "vocabulary.json"), "w") as f:
            json.dump(self.terms, f)
        np.save(os.path.join(directory, "idf.npy"), self.idf, allow_pickle=False)
        np.save(os.path.join(directory, "components.npy"), self.components, allow_pickle=False)

    @classmethod
    def load(cls, directory: str) -> TfidfSvdEncoder:
        """Load a saved artifact (verify its hashes first: the registry does)."""
        with open(os.path.join(directory, "config.json")) as f:
            config = json.load(f)
        if config.get("token_pattern") != _TOKEN_PATTERN or not config.get("lowercase", True):
            raise Unimplemented("this TF-IDF/SVD artifact uses a tokenizer keeldb does not know")
        with open(os.path.join(directory, "vocabulary.json")) as f:
            vocabulary = json.load(f)
        idf = np.load(os.path.join(directory, "idf.npy"), allow_pickle=False)
        components = np.load(os.path.join(directory, "components.npy"), allow_pickle=False)
        return cls(
            vocabulary, idf, components,
            ngram_max=config["ngram_max"], sublinear_tf=config["sublinear_tf"],
        )  # fmt: skip


def train_tfidf_svd(
    texts: Sequence[str],
    *,
    dim: int = 256,
    ngram_max: int = 1,
    min_df: int = 2,
    max_df: float = 0.5,
    max_features: int | None = 100_000,
    sublinear_tf: bool = True,
    seed: int = 0,
) -> tuple[TfidfSvdEncoder, dict[str, Any]]:
    """Fit TF-IDF + truncated SVD on ``texts``; return the encoder and its lineage/params."""
    try:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
    except ImportError as exc:
        raise Unimplemented(
            "training a TF-IDF/SVD model needs scikit-learn",
            hint='pip install "keeldb[models]"',
        ) from exc
    texts = [str(t) for t in texts]
    if len(texts) < 2:
        raise InvalidArgument("training a TF-IDF/SVD model needs at least 2 texts")
    vectorizer = TfidfVectorizer(
        lowercase=True, token_pattern=_TOKEN_PATTERN, ngram_range=(1, ngram_max),
        min_df=min_df, max_df=max_df, max_features=max_features, sublinear_tf=sublinear_tf,
        dtype=np.float32,
    )  # fmt: skip
    matrix = vectorizer.fit_transform(texts)
    n_components = min(dim, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if n_components < 1:
        raise InvalidArgument(f"the corpus is too small for a {dim}-d model")
    svd = TruncatedSVD(n_components=n_components, algorithm="randomized", random_state=seed)
    svd.fit(matrix)
    terms = [str(t) for t in vectorizer.get_feature_names_out()]
    encoder = TfidfSvdEncoder(
        terms, vectorizer.idf_, svd.components_.astype(np.float32),
        ngram_max=ngram_max, sublinear_tf=sublinear_tf,
    )  # fmt: skip
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    import sklearn

    info = {
        "params": {
            "dim": encoder.dim, "ngram_max": ngram_max, "min_df": min_df, "max_df": max_df,
            "max_features": max_features, "sublinear_tf": sublinear_tf, "seed": seed,
            "vocabulary_size": len(terms),
        },
        "lineage": {
            "trained_on": {"documents": len(texts), "texts_sha256": digest.hexdigest()},
            "trainer": f"scikit-learn {sklearn.__version__} TfidfVectorizer + TruncatedSVD",
        },
        "metrics": {"explained_variance": float(svd.explained_variance_ratio_.sum())},
    }  # fmt: skip
    return encoder, info
