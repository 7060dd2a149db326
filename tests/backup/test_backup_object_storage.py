"""Backups in S3-compatible object storage: moto's S3 server on loopback, through s3fs."""

from __future__ import annotations

import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import text

from conftest import REFERENCE_DIR
from cryoprotect.backup.manifest import MANIFEST
from cryoprotect.backup.operations import create_backup, prune, restore_backup, verify_backup
from cryoprotect.backup.rotation import RotationPolicy
from cryoprotect.backup.store import BackupStore
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.seed import seed

CREDENTIALS = {"key": "testing", "secret": "testing"}  # moto accepts any; made up


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["key"],
        aws_secret_access_key=CREDENTIALS["secret"],
    ).create_bucket(Bucket="lab-backups")
    yield endpoint
    server.stop()


def test_backups_round_trip_through_object_storage(s3_endpoint, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lab.db'}")
    migrations.upgrade(engine)
    seed(engine, REFERENCE_DIR)
    store = BackupStore(
        "s3://lab-backups/cryoprotect",
        endpoint_url=s3_endpoint,
        skip_instance_cache=True,
        **CREDENTIALS,
    )
    first = create_backup(engine, store)
    with engine.begin() as connection:  # a made-up change after the first backup
        connection.execute(text("DELETE FROM experiments WHERE id > 1000"))
    second = create_backup(engine, store)
    assert [m.id for m in store.manifests()] == [first.id, second.id]
    assert store.fs.exists(f"lab-backups/cryoprotect/{first.id}/{MANIFEST}")
    assert verify_backup(store, first.id) == []
    outcome = restore_backup(engine, store, first.id, force=True, check_health=False)
    assert outcome.rows["experiments"] == 1581 and outcome.problems == []
    result = prune(store, RotationPolicy(last=1, daily=0, weekly=0, monthly=0))
    assert result["removed"] == [first.id]
    assert [m.id for m in store.manifests()] == [second.id]
    engine.dispose()
