"""The imported-key-material operations on keys whose material KMS made (every Cipherpost key):
GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial answer as AWS answers
them for an ``AWS_KMS``-origin key (UnsupportedOperationException, after authorization).
Keys with ``Origin=EXTERNAL`` are not supported (CreateKey refuses them)."""

from __future__ import annotations

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import UnsupportedOperationException
from cipherpost.services.kms.keys import KeyRecord


def _not_external(key: KeyRecord) -> None:
    """:raises UnsupportedOperationException: AWS's answer for a key of another origin
    (LocalStack's test_get_parameters_for_import_raises_for_non_external_kms_keys)."""
    if key.origin != "EXTERNAL":
        raise UnsupportedOperationException(f"{key.arn} origin is {key.origin} which is not valid for this operation.")


class ImportOps(KmsCore):
    """Imported key material handlers."""

    async def _refuse(self, ctx: RequestContext, params: Params, operation_name: str) -> Result:
        await self.use_key(ctx, params["KeyId"], operation_name, check=_not_external)
        raise UnsupportedOperationException("Imported key material is not supported by Cipherpost.")

    @operation("GetParametersForImport")
    async def get_parameters_for_import(self, ctx: RequestContext, params: Params) -> Result:
        """GetParametersForImport."""
        return await self._refuse(ctx, params, "GetParametersForImport")

    @operation("ImportKeyMaterial")
    async def import_key_material(self, ctx: RequestContext, params: Params) -> Result:
        """ImportKeyMaterial."""
        return await self._refuse(ctx, params, "ImportKeyMaterial")

    @operation("DeleteImportedKeyMaterial")
    async def delete_imported_key_material(self, ctx: RequestContext, params: Params) -> Result:
        """DeleteImportedKeyMaterial."""
        return await self._refuse(ctx, params, "DeleteImportedKeyMaterial")
