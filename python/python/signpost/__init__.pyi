from os import PathLike
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

__version__: str

Descriptor = Dict[str, Any]
"""A RunnerJobCustomUpload in the wire format: url, method, fields, headers,
expectedStatusCodes, multipart (camelCase keys, as the runner receives it)."""

Pairs = Union[Mapping[str, str], Sequence[Tuple[str, str]]]

class Error(Exception):
    code: str

class PresignError(Error): ...
class DescriptorError(Error): ...

class VerifyError(Error):
    status: Optional[int]
    s3_code: str

class UploadError(Error):
    status: Optional[int]
    s3_code: Optional[str]
    needs_new_target: Optional[bool]
    before_sending: Optional[bool]
    upload_id: Optional[str]

class Presigner:
    def __init__(
        self,
        *,
        access_key_id: str,
        secret_access_key: str,
        session_token: Optional[str] = None,
        endpoint: Optional[str] = None,
        region: str = "us-east-1",
        virtual_hosted: bool = False,
    ) -> None: ...
    def presign_put(
        self,
        *,
        bucket: str,
        key: str,
        expires: int = 3600,
        content_type: Optional[str] = None,
        content_length: Optional[int] = None,
        metadata: Optional[Sequence[Tuple[str, str]]] = None,
        checksum_sha256: Optional[str] = None,
        signed_at: Optional[str] = None,
    ) -> Descriptor: ...
    def presign_get(
        self, *, bucket: str, key: str, expires: int = 3600, signed_at: Optional[str] = None
    ) -> str: ...
    def presign_post(
        self,
        *,
        bucket: str,
        key: Optional[str] = None,
        key_prefix: Optional[str] = None,
        min_size: Optional[int] = None,
        max_size: Optional[int] = None,
        content_type: Optional[str] = None,
        content_type_prefix: Optional[str] = None,
        success_status: Optional[int] = None,
        metadata: Optional[Sequence[Tuple[str, str]]] = None,
        expires: int = 3600,
        signed_at: Optional[str] = None,
    ) -> Descriptor: ...
    def presign_multipart(
        self,
        *,
        bucket: str,
        key: str,
        upload_id: str,
        max_size: int,
        part_size: int = 67108864,
        expires: int = 3600,
        signed_at: Optional[str] = None,
    ) -> Descriptor: ...
    def create_multipart_upload(
        self, *, bucket: str, key: str, content_type: Optional[str] = None
    ) -> str: ...

class Verifier:
    def __init__(
        self, *, access_key_id: str, secret_access_key: str, region: str = "us-east-1"
    ) -> None: ...
    def verify_presigned(self, method: str, url: str, headers: Pairs) -> None: ...
    def verify_post(self, url: str, fields: Pairs) -> None: ...

def parse_descriptor(descriptor: Union[str, Descriptor]) -> Descriptor: ...
def upload(
    descriptor: Union[str, Descriptor],
    path: Union[str, "PathLike[str]"],
    *,
    progress: Optional[Callable[[int, int], None]] = None,
    state_dir: Optional[Union[str, "PathLike[str]"]] = None,
    on_failure: Optional[str] = None,
    content_type: Optional[str] = None,
    file_name: Optional[str] = None,
    retries: int = 3,
    concurrency: int = 4,
) -> Dict[str, Any]: ...
