"""moto_server, with DynamoDB and Secrets Manager requests handled one at a time.

moto's server is threaded and its DynamoDB backend takes no lock, so two concurrent conditional
writes to one item can both pass their condition (measured: the claim race, 8 concurrent claims
of one execution, had two winners in about one run out of four). DynamoDB itself applies each
conditional write atomically; serialising DynamoDB requests restores that. Other services stay
concurrent: an SQS long poll must not hold up everything else.

Usage: python3 moto_server.py -H 127.0.0.1 -p PORT  (the same arguments as moto_server).
Used by `backend_aws::testing` and `scripts/moto.sh`.
"""

import logging
import sys
import threading

try:
    from moto.moto_server import werkzeug_app
    from moto.server import main
except ImportError as e:  # pragma: no cover - the message is the point
    sys.stderr.write(
        f"moto is not installed for {sys.executable} ({e}): pip install 'moto[server]'\n"
    )
    sys.exit(3)

_dispatch = werkzeug_app.DomainDispatcherApplication.__call__
_dynamodb = threading.Lock()
# Secrets Manager too: UpdateSecretVersionStage checks RemoveFromVersionId and then moves the
# label, and two threads could both pass the check (a compare-and-set with two winners).
_SERIALISED = ("DynamoDB", "secretsmanager.")


def _call(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith(_SERIALISED):
        with _dynamodb:
            # Consume the response inside the lock: the write happens while it is produced.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


werkzeug_app.DomainDispatcherApplication.__call__ = _call


def _patch_transactions():
    """TransactWriteItems backs up only the items it writes, not whole tables.

    moto deep-copies every table a transaction touches before applying it (to roll back a
    cancelled one), which makes each transaction cost as much as the table is large: 10,000
    completions on one table took minutes. DynamoDB's outcome is the same either way: a
    cancelled transaction leaves every item as it was.
    """
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class _NoTableCopy:
        """`copy` for moto's backend module, but tables are not copied (we back up items)."""

        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Item") or op.get("Key") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attrs:
                    continue
                range_key = DynamoType(attrs[table.range_key_attr])
            current = table.get_item(hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                if item is None:
                    if table.get_item(hash_key, range_key) is not None:
                        table.items[hash_key].pop(range_key) if range_key else table.items.pop(
                            hash_key
                        )
                elif range_key:
                    table.items[hash_key][range_key] = item
                else:
                    table.items[hash_key] = item
            raise

    models.copy = _NoTableCopy()
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _patch_version_stages():
    """UpdateSecretVersionStage moving AWSCURRENT makes that version the secret's current one.

    moto moves the label but keeps answering GetSecretValue (and demoting on the next
    PutSecretValue) by the version PutSecretValue last made current, so two versions end up
    labelled AWSCURRENT. On Secrets Manager the label is the current version.
    """
    from moto.secretsmanager.models import SecretsManagerBackend

    update = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(
        self, secret_id, version_stage, remove_from_version_id, move_to_version_id
    ):
        answer = update(
            self, secret_id, version_stage, remove_from_version_id, move_to_version_id
        )
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return answer

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


_patch_transactions()
_patch_version_stages()
# One line per request on stderr costs more than the requests themselves.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    main(sys.argv[1:])
