"""Where archives are kept: a folder, or ``s3://bucket/prefix`` on S3-compatible storage.

A folder target has the archive written in place as ``NAME.partial`` and renamed when finished.
An S3 target is sent a finished local archive with one upload; a multipart upload that never
completes leaves no object, so a killed backup leaves nothing there that looks finished.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from mailwarden.config import BackupConfig
from mailwarden.core.backup.archive import PARTIAL, time_of
from mailwarden.core.backup.errors import BackupError


class Target(ABC):
    """A place holding archives by name."""

    @abstractmethod
    def describe(self, name: str = "") -> str: ...

    @abstractmethod
    def local_folder(self) -> Path | None:
        """The folder archives can be written straight into, or None (upload them)."""

    @abstractmethod
    def check(self) -> None:
        """Fail now, naming the place, when archives cannot be written there."""

    @abstractmethod
    def upload(self, local: Path, name: str) -> None: ...

    @abstractmethod
    def download(self, name: str, local: Path) -> None: ...

    @abstractmethod
    def names(self) -> list[str]:
        """The finished archives' names (never a partial one)."""

    @abstractmethod
    def delete(self, name: str) -> None: ...


class FolderTarget(Target):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self, name: str = "") -> str:
        return str(self.folder / name) if name else str(self.folder)

    def local_folder(self) -> Path:
        return self.folder

    def check(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"cannot write to {self.folder}: {exc.strerror}") from None

    def upload(self, local: Path, name: str) -> None:
        if local.resolve() != (self.folder / name).resolve():
            shutil.copyfile(local, self.folder / name)

    def download(self, name: str, local: Path) -> None:
        shutil.copyfile(self.folder / name, local)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p.name
            for p in self.folder.iterdir()
            if time_of(p.name) is not None and not p.name.endswith(PARTIAL)
        )

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)


class S3Target(Target):
    def __init__(self, bucket: str, prefix: str, config: BackupConfig) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.config = config
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "s3",
                endpoint_url=self.config.s3_endpoint_url,
                region_name=self.config.s3_region,
            )
        return self._client

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def describe(self, name: str = "") -> str:
        return (
            f"s3://{self.bucket}/{self.key(name)}" if name else f"s3://{self.bucket}/{self.prefix}"
        )

    def local_folder(self) -> None:
        return None

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "?"))
            if code in ("404", "NoSuchBucket"):
                raise BackupError(f"{what} {self.describe()}: the bucket does not exist") from None
            raise BackupError(
                f"{what} {self.describe()}: {code} {error.get('Message', '')}".rstrip()
            ) from None
        except (BotoCoreError, Boto3Error) as exc:
            raise BackupError(f"{what} {self.describe()}: {exc}") from None

    def check(self) -> None:
        self._call("reaching", self.client.head_bucket, Bucket=self.bucket)

    def upload(self, local: Path, name: str) -> None:
        self._call("uploading to", self.client.upload_file, str(local), self.bucket, self.key(name))

    def download(self, name: str, local: Path) -> None:
        self._call(
            "downloading from", self.client.download_file, self.bucket, self.key(name), str(local)
        )

    def names(self) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        out = []
        pages = self._call(
            "listing", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=prefix))
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(prefix) :]
                if "/" not in name and time_of(name) is not None:
                    out.append(name)
        return sorted(out)

    def delete(self, name: str) -> None:
        self._call(
            "deleting from", self.client.delete_object, Bucket=self.bucket, Key=self.key(name)
        )


def parse(where: str, config: BackupConfig) -> Target:
    """``s3://bucket/prefix`` or a folder."""
    if where.startswith("s3://"):
        bucket, _, prefix = where[len("s3://") :].partition("/")
        if not bucket:
            raise BackupError(f"{where}: name the bucket, as s3://bucket/prefix")
        return S3Target(bucket, prefix, config)
    if "://" in where:
        raise BackupError(f"{where}: give a folder or an s3://bucket/prefix URL")
    return FolderTarget(Path(where).expanduser())


def locate(archive: str, config: BackupConfig) -> tuple[Target, str]:
    """An archive's place and name, from a path or an s3:// URL to it."""
    if archive.startswith("s3://"):
        where, _, name = archive.rpartition("/")
        if not name or where == "s3:/":
            raise BackupError(f"{archive}: give the archive's full URL, s3://bucket/prefix/NAME")
        return parse(where, config), name
    path = Path(archive).expanduser()
    return FolderTarget(path.parent), path.name
