"""Task materials through a real embedded store: publish, fetch verified, refuse a swapped spec."""

from __future__ import annotations

import pytest

from materials import Materials, SpecHashMismatchError, publish
from store.client import Client
from store.server import serve


@pytest.fixture
def store_client(tmp_path):
    with serve(tmp_path / "repo") as handle:
        client = Client(handle.url)
        yield client
        client.close()


def test_publish_then_fetch_round_trip(tmp_path, store_client):
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    spec = preset_spec("tiny")
    pub = publish(store_client, spec, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    assert (
        pub.spec.teacher.cid == pub.teacher_cid and pub.spec.dataset.manifest_cid == pub.dataset_cid
    )
    mats = Materials(store_client, tmp_path / "cache")
    fetched = mats.spec(pub.spec_cid, pub.spec_hash)
    assert fetched == pub.spec
    teacher = mats.teacher_dir(fetched)
    assert (teacher / "config.json").read_bytes() == (
        default_teacher_dir() / "config.json"
    ).read_bytes()
    assert (mats.dataset_dir(fetched) / "manifest.json").is_file()
    with pytest.raises(SpecHashMismatchError, match="the chain says"):
        mats.spec(pub.spec_cid, b"\x00" * 32)
