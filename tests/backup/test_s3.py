"""Backups to S3-compatible storage: a real S3 server (moto's) on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from .conftest import mailwarden, media_hashes, row_counts

pytestmark = pytest.mark.slow

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3() -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="mailroom-backups")
    try:
        yield {**CREDENTIALS, "MW_BACKUP__S3_ENDPOINT_URL": endpoint}
    finally:
        server.stop()


def keys(env: dict[str, str], prefix: str) -> list[str]:
    # moto keeps its buckets for the whole test process, so each test lists its own prefix.
    client = boto3.client(
        "s3",
        endpoint_url=env["MW_BACKUP__S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    listed = client.list_objects_v2(Bucket="mailroom-backups", Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_backup_to_s3_and_restore_from_it(source, tmp_path, s3):
    done = mailwarden(["backup", "--to", "s3://mailroom-backups/site-a"], source, **s3)
    assert done.returncode == 0, done.stderr
    [key] = keys(s3, "site-a/")
    assert key.startswith("site-a/mailwarden-") and key.endswith(".tar")
    assert f"s3://mailroom-backups/{key}" in done.stdout
    # Nothing was left behind locally: the archive went up and its work folder went away.
    assert not (source / "backups").exists()

    target = tmp_path / "restored"
    done = mailwarden(["restore", f"s3://mailroom-backups/{key}"], target, **s3)
    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout
    assert row_counts(target) == row_counts(source)
    assert media_hashes(target) == media_hashes(source)


def test_a_missing_bucket_is_one_line_naming_it(source, s3):
    done = mailwarden(["backup", "--to", "s3://no-such-bucket/x"], source, **s3)
    assert done.returncode == 1
    assert "s3://no-such-bucket/x" in done.stderr and "bucket does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_pruning_on_s3_keeps_what_the_rules_say(source, s3):
    client = boto3.client(
        "s3",
        endpoint_url=s3["MW_BACKUP__S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for day in range(1, 11):
        client.put_object(
            Bucket="mailroom-backups", Key=f"p/mailwarden-202603{day:02d}T020000Z.tar", Body=b"x"
        )
    client.put_object(Bucket="mailroom-backups", Key="p/unrelated.txt", Body=b"x")
    done = mailwarden(
        ["backup", "--prune", "--to", "s3://mailroom-backups/p"],
        source,
        MW_BACKUP__KEEP_DAILY="3",
        MW_BACKUP__KEEP_WEEKLY="0",
        MW_BACKUP__KEEP_MONTHLY="0",
        **s3,
    )
    assert done.returncode == 0, done.stderr
    assert keys(s3, "p/") == [
        "p/mailwarden-20260308T020000Z.tar",
        "p/mailwarden-20260309T020000Z.tar",
        "p/mailwarden-20260310T020000Z.tar",
        "p/unrelated.txt",
    ]
