"""The in-house model: TF-IDF + truncated SVD trained on a slice of the real Debian corpus."""

from __future__ import annotations

import os

import numpy as np
import pytest

from keeldb.lifecycle.tfidf_svd import TfidfSvdEncoder, train_tfidf_svd

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def slice_texts(debian_corpus):
    return [d["long_description"] for d in debian_corpus[:3000] if d["long_description"]]


def test_numpy_encoding_matches_scikit_learn(slice_texts):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    encoder, info = train_tfidf_svd(slice_texts, dim=64, ngram_max=2, seed=3)
    assert encoder.dim == 64 and info["params"]["vocabulary_size"] == len(encoder.terms)
    vectorizer = TfidfVectorizer(
        token_pattern=r"(?u)\b\w\w+\b", ngram_range=(1, 2), min_df=2, max_df=0.5,
        max_features=100_000, sublinear_tf=True, dtype=np.float32,
    )  # fmt: skip
    matrix = vectorizer.fit_transform(slice_texts)
    svd = TruncatedSVD(n_components=64, algorithm="randomized", random_state=3).fit(matrix)
    held_out = ["A library for parsing XML documents", "Real-time strategy game", "zzzz"]
    reference = svd.transform(vectorizer.transform(held_out)).astype(np.float32)
    norms = np.linalg.norm(reference, axis=1, keepdims=True)
    reference = np.divide(reference, norms, out=np.zeros_like(reference), where=norms > 0)
    np.testing.assert_allclose(encoder.encode(held_out), reference, atol=2e-4)


def test_registered_version_round_trips_with_lineage(client, slice_texts, tmp_path):
    lc = client.lifecycle
    mv = lc.train_tfidf_svd(
        "debian-lsa", slice_texts, dim=32, lineage={"source": "debian corpus ids 0..2999"}
    )
    assert mv.kind == "tfidf_svd" and mv.dim == 32 and mv.metric == "COSINE"
    assert mv.lineage["trained_on"]["documents"] == len(slice_texts)
    assert mv.lineage["source"] == "debian corpus ids 0..2999"
    assert set(mv.artifact.files) == {"config.json", "vocabulary.json", "idf.npy", "components.npy"}
    lc.encoders._encoders.clear()  # load from disk, through hash verification
    loaded = lc.encoder(mv.ref)
    assert isinstance(loaded, TfidfSvdEncoder)
    saved = TfidfSvdEncoder.load(lc.registry.artifact_path(mv))
    texts = slice_texts[:5]
    np.testing.assert_allclose(loaded.encode(texts), saved.encode(texts), atol=1e-6)
    vectors = loaded.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    path = lc.registry.artifact_path(mv)
    assert not any(name.endswith((".pkl", ".pickle")) for name in os.listdir(path))
