"""A bucket prefix that holds backups: upload (multipart past a threshold, then verified),
list, download and delete, through boto3.

Credentials are found the AWS way (environment, shared profile, instance role); nothing here
reads or logs them. ``endpoint`` points boto3 at an S3-compatible store (MinIO, a NAS's S3
service, a local test server).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

log: logging.Logger = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 64 * 1024 * 1024
MULTIPART_CHUNK = 16 * 1024 * 1024


class S3Error(Exception):
    """An S3 request failed or an object did not verify; ``str()`` says which and why."""


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    metadata: dict[str, str]


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (``bucket``, ``some/prefix/``); the prefix may be empty."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise S3Error(f"{url!r} is not an s3://bucket/prefix URL")
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


def _boto3() -> Any:
    # boto3 ships without type information; it is imported here only, on first use, which also
    # keeps it off the bot's start-up path when S3 is not configured.
    return importlib.import_module("boto3")


def _client_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


class S3Store:
    def __init__(
        self,
        url: str,
        *,
        endpoint: str | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        multipart_chunk: int = MULTIPART_CHUNK,
    ) -> None:
        self.url: str = url
        bucket, prefix = split_s3_url(url)
        self.bucket: str = bucket
        self.prefix: str = prefix
        self.endpoint: str | None = endpoint
        self.multipart_threshold = multipart_threshold
        self.multipart_chunk = multipart_chunk
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _boto3().session.Session().client("s3", endpoint_url=self.endpoint)
        return self._client

    def key_for(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def name_of(self, key: str) -> str:
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key

    def upload(self, path: Path, name: str, metadata: dict[str, str]) -> S3Object:
        """Upload ``path`` as ``name`` with ``metadata`` (which must hold ``sha256`` and
        ``bytes``), then read the object's size and metadata back and compare."""
        transfer = importlib.import_module("boto3.s3.transfer")
        config = transfer.TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunk,
        )
        key = self.key_for(name)
        try:
            self.client.upload_file(
                str(path), self.bucket, key, ExtraArgs={"Metadata": metadata}, Config=config
            )
        except Exception as exc:  # boto3 raises many unrelated types for one failed upload
            raise S3Error(f"upload of {key} to {self.bucket} failed: {_client_error(exc)}") from exc
        stored = self.head(key)
        if stored.size != int(metadata["bytes"]) or stored.metadata.get("sha256") != metadata.get(
            "sha256"
        ):
            raise S3Error(
                f"s3://{self.bucket}/{key} did not verify after upload "
                f"({stored.size} bytes, sha256 {stored.metadata.get('sha256')!r})"
            )
        return stored

    def head(self, key: str) -> S3Object:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise S3Error(f"s3://{self.bucket}/{key}: {_client_error(exc)}") from exc
        metadata = {str(k).lower(): str(v) for k, v in dict(answer.get("Metadata", {})).items()}
        return S3Object(key=key, size=int(answer["ContentLength"]), metadata=metadata)

    def list_names(self) -> list[tuple[str, int]]:
        """(name under the prefix, size) of every object directly under the prefix."""
        found: list[tuple[str, int]] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found.append((self.name_of(str(item["Key"])), int(item["Size"])))
        except Exception as exc:
            raise S3Error(
                f"listing s3://{self.bucket}/{self.prefix}: {_client_error(exc)}"
            ) from exc
        return found

    def download(self, key: str, target: Path) -> None:
        try:
            self.client.download_file(self.bucket, key, str(target))
        except Exception as exc:
            raise S3Error(f"download of s3://{self.bucket}/{key}: {_client_error(exc)}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise S3Error(f"delete of s3://{self.bucket}/{key}: {_client_error(exc)}") from exc
