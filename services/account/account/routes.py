"""HTTP endpoints of the account service."""

from flask import Blueprint

from servicekit.app import kit, traced
from servicekit.errors import ApiError
from servicekit.validation import integer, json_object, string

from account import data

bp = Blueprint("accounts", __name__)
ID = "<int(min=1, max=2147483647):customer_id>"
MAX_AMOUNT = 1_000_000  # cents; a sanity bound, and it keeps balances far from overflow


def _view(account: dict) -> dict:
    """The account as this version shows it: v2 adds loyalty points."""
    cfg = kit().config
    spent = account.pop("spent_cents")
    if cfg.version != "v1":
        account["loyalty"] = data.loyalty(spent)
    return account


@bp.get(f"/accounts/{ID}")
def get_account(customer_id: int):
    account = data.account(kit().db, customer_id)
    if account is None:
        raise ApiError(404, "account not found", f"no account for customer {customer_id}")
    return traced(kit().config, _view(account))


def _post(customer_id: int, kind: str):
    body = json_object()
    amount = integer(body, "amount_cents", maximum=MAX_AMOUNT)
    reference = string(body, "reference")
    try:
        entry, balance, created = data.post(kit().db, customer_id, kind, amount, reference)
    except data.NotFound:
        raise ApiError(404, "account not found", f"no account for customer {customer_id}") from None
    except data.Conflict as exc:
        raise ApiError(409, exc.error, exc.detail, balance_cents=exc.balance_cents) from None
    account = _view(data.account(kit().db, customer_id, ledger_limit=0))
    answer = {"entry": entry, "balance_cents": balance, "replayed": not created}
    if "loyalty" in account:
        answer["loyalty"] = account["loyalty"]
    return traced(kit().config, answer, 201 if created else 200)


@bp.post(f"/accounts/{ID}/debits")
def debit(customer_id: int):
    """Charge the account. The same reference twice charges once (a retry is safe)."""
    return _post(customer_id, "debit")


@bp.post(f"/accounts/{ID}/credits")
def credit(customer_id: int):
    """Top the account up (handy when load tests have spent the seed money)."""
    return _post(customer_id, "credit")
