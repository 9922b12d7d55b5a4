"""moto_server, with DynamoDB and Secrets Manager requests handled one at a time, and the costs
that grew with a table's size (Query, rule delivery, transactions) kept flat; see each patch.

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


def _patch_query():
    """Query reads only the candidates it needs, unsorted: its result is the same.

    moto's Query starts from `Table.all_items()`, which lists every item of the table and sorts
    them all (Python comparisons of key tuples), then keeps the matching ones and sorts those
    again. So every Query costs the table's size times its logarithm, even a key lookup: a fleet
    polling its outbox and callback indexes slowed down as its table grew, until 1,000 chaos
    executions no longer finished (docs/reliability.md). Here a query on the table's own key
    lists that key's items only, and an index query lists all items without sorting them; the
    candidates are filtered and sorted by moto as before. Requests are serialised (above), so
    the per-call override is not seen by another request.
    """
    import inspect

    from moto.dynamodb.models.table import Table

    query = Table.query
    signature = inspect.signature(query)

    def candidates(table, hash_key):
        if hash_key is not None:
            found = table.items.get(hash_key)
            if found is None:
                return []
            return list(found.values()) if table.range_key_attr else [found]
        items = []
        for entry in table.items.values():
            if table.range_key_attr:
                items.extend(entry.values())
            else:
                items.append(entry)
        return items

    def fast_query(self, hash_key, *args, **kwargs):
        index_name = signature.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
        own_key = hash_key if index_name is None else None
        self.all_items = lambda: candidates(self, own_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = fast_query


def _patch_event_paths():
    """EventBridge compiles each JSONPath of a rule target's input map once, not per event.

    moto delivers every event to a rule's targets through `EventTemplateParser.parse`, which
    calls `jsonpath_ng.ext.parse` for each path of the (default) input map, and that builds a
    new LALR parser with its tables every time: measured with py-spy, 60 % of the emulator's
    time in a chaos run went to it. A parsed path is immutable, so one per expression serves
    every event.
    """
    import functools

    import jsonpath_ng.ext

    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


_patch_transactions()
_patch_version_stages()
_patch_query()
_patch_event_paths()
# One line per request on stderr costs more than the requests themselves.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    main(sys.argv[1:])
