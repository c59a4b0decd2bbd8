"""scim2-client over httpx, for the tests' identity provider.

scim2-client 0.13 ships its network engine for ``httpx2``, which this project does not install;
this is that engine (``scim2_client.engines.httpx2.SyncSCIMClient``) on ``httpx``, whose client
has the same surface.
"""

from __future__ import annotations

from typing import Any, cast

import httpx
from scim2_client.client import BaseSyncSCIMClient, RawResponse
from scim2_client.errors import RequestNetworkException


class HttpxSCIMClient(BaseSyncSCIMClient):
    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return (
            url.scheme == base.scheme
            and url.netloc == base.netloc
            and url.raw_path.startswith(base.raw_path)
        )

    def _parse_json(self, response: RawResponse) -> Any:
        return cast(httpx.Response, response).json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            error = RequestNetworkException()
            error.add_note(str(exc))
            raise error from exc
