"""The audit trail: CloudTrail-format records, delivery, integrity chain, LookupEvents.

Seams for the gateway and the CLI:

- :func:`~cipherpost.services.audit.record.build_event` turns one API call into a record;
- :class:`~cipherpost.services.audit.trail.AuditTrail` buffers calls (``record_call``, which
  defers building the record off the request path) or built records (``record``) and
  delivers them in the background (``start`` / ``stop``);
- :class:`~cipherpost.services.audit.digest.AuditSigner` is the digest-signing key;
- :func:`~cipherpost.services.audit.verify.run_verify` is ``cipherpost audit verify``;
- :func:`~cipherpost.services.audit.lookup.lookup_events` is the LookupEvents handler body.
"""

from __future__ import annotations

from cipherpost.services.audit.digest import AuditSigner
from cipherpost.services.audit.layout import AUDIT_DIRNAME, SIGNING_KEY_FILENAME
from cipherpost.services.audit.lookup import lookup_events
from cipherpost.services.audit.record import build_event
from cipherpost.services.audit.tables import is_data_event, is_read_only
from cipherpost.services.audit.trail import AuditTrail
from cipherpost.services.audit.verify import VerifyReport, run_verify, verify_trail

__all__ = [
    "AUDIT_DIRNAME",
    "SIGNING_KEY_FILENAME",
    "AuditSigner",
    "AuditTrail",
    "VerifyReport",
    "build_event",
    "is_data_event",
    "is_read_only",
    "lookup_events",
    "run_verify",
    "verify_trail",
]
