"""b2bbudget: the budget and approval rules of libb2bbudget for Python.

An idiomatic layer over the SWIG wrapper (``b2bbudget.raw``, internal): failures raise
:class:`Error` with a stable ``code``; enums are :class:`enum.IntEnum`; results are objects with
named attributes; money is exact (integers in minor units, or decimal strings such as
``"436.00"`` -- never floats).

Amount arguments accept an ``int`` (minor units: cents for EUR) or a decimal ``str`` parsed in
the relevant currency. Every amount must lie within +-(2**53 - 1) minor units.

Example::

    import b2bbudget as b2b
    plan = b2b.Plan(annual="1000.00", currency="EUR", months={3: "200.00"})
    plan.month(1)                        # '72.73'
    result = b2b.check(order=b2b.Order("436.00", "EUR"),
                       budgets=[b2b.Budget(b2b.Scope.LOCATION, b2b.Period.MONTH, "500.00",
                                           currency="EUR")])
    result.worst                         # <Level.NEAR: 2>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import raw as _raw

__all__ = [
    "Error", "Status", "Lang", "Basis", "Level", "Scope", "Period", "State", "Event", "Source",
    "Usage", "Role", "Action", "Reason", "OverBudget",
    "version", "version_number", "MONEY_MAX", "NEAR_DEFAULT_BP",
    "currency_exponent", "parse_money", "format_money", "display_money", "add_money",
    "sub_money", "mul_money", "basis_amount",
    "Plan", "FiscalPosition", "fiscal_position",
    "Budget", "Order", "CheckLine", "CheckResult", "check", "level_blocks",
    "Case", "next_state", "state_allows", "state_is_open", "state_usage", "event_source",
    "Actor", "OrderContext", "Policy", "Decision", "decide", "role_from_shopify",
]

Amount = Union[int, str]

#: Largest magnitude of any amount in minor units: 2**53 - 1.
MONEY_MAX: int = _raw.B2B_MONEY_MAX
#: Default near threshold in basis points (90 %).
NEAR_DEFAULT_BP: int = _raw.B2B_NEAR_DEFAULT_BP


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------

def _status_members() -> Dict[str, int]:
    """{CODE: number} for every status of the library's table (codes are append-only)."""
    members = {}
    for num in range(0, -1000, -1):
        code = _raw.b2b_status_code(num)
        if code != "unknown":
            members[code.upper()] = num
    return members


#: Status codes of the library, named by their stable code (``Status.MONTHS_EXCEED_ANNUAL``).
Status = enum.IntEnum("Status", _status_members(), module=__name__)


class Error(Exception):
    """A failure reported by libb2bbudget (or a bad argument caught before calling it).

    ``code`` is the stable machine-readable code (``"months_exceed_annual"``), ``message`` the
    English message, ``status`` the C status number (negative).
    """

    def __init__(self, status: int, detail: Optional[str] = None):
        self.status = int(status)
        self.code = _raw.b2b_status_code(self.status)
        message = _raw.b2b_strerror(self.status)
        self.message = f"{message}: {detail}" if detail else message
        super().__init__(f"{self.code}: {self.message}")


def _ok(status: int, detail: Optional[str] = None) -> None:
    if status != 0:
        raise Error(status, detail)


def _bad(what: str) -> Error:
    return Error(_raw.B2B_EINVAL, what)


# ------------------------------------------------------------------------------------------
# Enums
# ------------------------------------------------------------------------------------------

class Lang(enum.IntEnum):
    """Language of texts for people. German first."""

    DE = _raw.B2B_LANG_DE
    EN = _raw.B2B_LANG_EN


def _lang(lang: Union[Lang, int, str]) -> int:
    if isinstance(lang, str):
        try:
            return Lang[lang.upper()]
        except KeyError:
            raise Error(_raw.B2B_EENUM, f"language {lang!r}") from None
    return _enum(Lang, lang, "lang")


class _Named(enum.IntEnum):
    """IntEnum with the library's stable names (``.code``) and labels for people."""

    @property
    def code(self) -> str:
        """Stable name used in JSON and APIs (e.g. ``"pending_approval"``)."""
        return type(self)._name_fn(int(self))

    @classmethod
    def from_name(cls, name: str):
        """The member for a stable name; :class:`Error` ``unknown_name`` otherwise."""
        if not isinstance(name, str):
            raise _bad(f"{cls.__name__} name must be a str")
        value = cls._from_name_fn(name)
        if value < 0:
            raise Error(value, f"{cls.__name__} {name!r}")
        return cls(value)


def _enum(cls, value, what: str):
    """Converts a member, an int or a stable name to a member of ``cls``."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and hasattr(cls, "from_name"):
        return cls.from_name(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return cls(value)
        except ValueError:
            raise Error(_raw.B2B_EENUM, f"{what} {value}") from None
    raise _bad(f"{what} must be a {cls.__name__}, an int or a name, not {type(value).__name__}")


def _text_or_error(text: Optional[str], status: int, what: str) -> str:
    if text is None:
        raise Error(status, what)
    return text


class Basis(_Named):
    """Which order amount budgets see (a shop setting)."""

    NET = _raw.B2B_BASIS_NET
    GROSS = _raw.B2B_BASIS_GROSS
    GOODS = _raw.B2B_BASIS_GOODS


Basis._name_fn = staticmethod(_raw.b2b_basis_name)
Basis._from_name_fn = staticmethod(_raw.b2bx_basis_from_name)


class Level(_Named):
    """Result level of a budget line, from best to worst."""

    UNSET = _raw.B2B_LEVEL_UNSET
    WITHIN = _raw.B2B_LEVEL_WITHIN
    NEAR = _raw.B2B_LEVEL_NEAR
    OVER = _raw.B2B_LEVEL_OVER
    CURRENCY_MISMATCH = _raw.B2B_LEVEL_CURRENCY_MISMATCH

    def label(self, lang: Union[Lang, str] = Lang.DE) -> str:
        """Label for people, e.g. ``"Nahe am Limit"``."""
        return _raw.b2b_level_label(int(self), _lang(lang))

    @property
    def blocks(self) -> bool:
        """True when this level blocks submit and approve."""
        return bool(_raw.b2b_level_blocks(int(self)))


Level._name_fn = staticmethod(_raw.b2b_level_name)
Level._from_name_fn = staticmethod(_raw.b2bx_level_from_name)


class Scope(_Named):
    """What a budget belongs to."""

    LOCATION = _raw.B2B_SCOPE_LOCATION
    COMPANY = _raw.B2B_SCOPE_COMPANY


Scope._name_fn = staticmethod(_raw.b2b_scope_name)
Scope._from_name_fn = staticmethod(lambda n: {"location": 0, "company": 1}.get(n, _raw.B2B_ENAME))


class Period(_Named):
    """Which period of a budget a line checks."""

    MONTH = _raw.B2B_PERIOD_MONTH
    YEAR = _raw.B2B_PERIOD_YEAR


Period._name_fn = staticmethod(_raw.b2b_period_name)
Period._from_name_fn = staticmethod(lambda n: {"month": 0, "year": 1}.get(n, _raw.B2B_ENAME))


class State(_Named):
    """States of an approval case."""

    NONE = _raw.B2B_STATE_NONE
    DRAFT = _raw.B2B_STATE_DRAFT
    PENDING_APPROVAL = _raw.B2B_STATE_PENDING_APPROVAL
    CHANGES_REQUESTED = _raw.B2B_STATE_CHANGES_REQUESTED
    APPROVED = _raw.B2B_STATE_APPROVED
    COMPLETED = _raw.B2B_STATE_COMPLETED
    FAILED = _raw.B2B_STATE_FAILED
    CANCELLED = _raw.B2B_STATE_CANCELLED

    def label(self, lang: Union[Lang, str] = Lang.DE) -> str:
        """Label for people, e.g. ``"Entwurf"``."""
        return _raw.b2b_state_label(int(self), _lang(lang))


State._name_fn = staticmethod(_raw.b2b_state_name)
State._from_name_fn = staticmethod(_raw.b2bx_state_from_name)


class Event(_Named):
    """Events that move an approval case between states."""

    RECEIVED = _raw.B2B_EVENT_RECEIVED
    SUBMIT = _raw.B2B_EVENT_SUBMIT
    APPROVE = _raw.B2B_EVENT_APPROVE
    REQUEST_CHANGES = _raw.B2B_EVENT_REQUEST_CHANGES
    WITHDRAW = _raw.B2B_EVENT_WITHDRAW
    REVISED = _raw.B2B_EVENT_REVISED
    COMPLETED = _raw.B2B_EVENT_COMPLETED
    COMPLETION_FAILED = _raw.B2B_EVENT_COMPLETION_FAILED
    RETRY = _raw.B2B_EVENT_RETRY
    DELETED = _raw.B2B_EVENT_DELETED

    def label(self, lang: Union[Lang, str] = Lang.DE) -> str:
        """Label for people, e.g. ``"Eingereicht"``."""
        return _raw.b2b_event_label(int(self), _lang(lang))


Event._name_fn = staticmethod(_raw.b2b_event_name)
Event._from_name_fn = staticmethod(_raw.b2bx_event_from_name)


class Source(enum.IntEnum):
    """Who may cause an event."""

    SHOPIFY = _raw.B2B_SOURCE_SHOPIFY
    USER = _raw.B2B_SOURCE_USER
    STAFF = _raw.B2B_SOURCE_STAFF


class Usage(enum.IntEnum):
    """How an order's amount counts against budgets in a state."""

    NONE = _raw.B2B_USAGE_NONE
    SPENT = _raw.B2B_USAGE_SPENT
    RESERVED = _raw.B2B_USAGE_RESERVED


class Role(_Named):
    """Portal roles."""

    COMPANY_ADMIN = _raw.B2B_ROLE_COMPANY_ADMIN
    BUDGET_ADMIN = _raw.B2B_ROLE_BUDGET_ADMIN
    APPROVER = _raw.B2B_ROLE_APPROVER
    REQUESTER = _raw.B2B_ROLE_REQUESTER

    def label(self, lang: Union[Lang, str] = Lang.DE) -> str:
        """Label for people, e.g. ``"Genehmiger"``."""
        return _raw.b2b_role_label(int(self), _lang(lang))


Role._name_fn = staticmethod(_raw.b2b_role_name)
Role._from_name_fn = staticmethod(_raw.b2bx_role_from_name)


class Action(_Named):
    """Things a portal user can try to do."""

    VIEW = _raw.B2B_ACTION_VIEW
    SUBMIT = _raw.B2B_ACTION_SUBMIT
    APPROVE = _raw.B2B_ACTION_APPROVE
    REQUEST_CHANGES = _raw.B2B_ACTION_REQUEST_CHANGES
    WITHDRAW = _raw.B2B_ACTION_WITHDRAW
    MANAGE_BUDGETS = _raw.B2B_ACTION_MANAGE_BUDGETS
    MANAGE_USERS = _raw.B2B_ACTION_MANAGE_USERS


Action._name_fn = staticmethod(_raw.b2b_action_name)
Action._from_name_fn = staticmethod(_raw.b2bx_action_from_name)


class Reason(_Named):
    """Why an action is refused."""

    ROLE = _raw.B2B_REASON_ROLE
    LOCATION = _raw.B2B_REASON_LOCATION
    STATE = _raw.B2B_REASON_STATE
    BUDGET_OVER = _raw.B2B_REASON_BUDGET_OVER
    CURRENCY_MISMATCH = _raw.B2B_REASON_CURRENCY_MISMATCH
    FOUR_EYES = _raw.B2B_REASON_FOUR_EYES
    NOT_SUBMITTER = _raw.B2B_REASON_NOT_SUBMITTER
    NOTE_REQUIRED = _raw.B2B_REASON_NOTE_REQUIRED

    def message(self, lang: Union[Lang, str] = Lang.DE) -> str:
        """Explanation for people."""
        return _raw.b2b_reason_message(int(self), _lang(lang))


Reason._name_fn = staticmethod(_raw.b2b_reason_code)
Reason._from_name_fn = staticmethod(
    lambda n: next((r for r in range(_raw.B2B_REASON_COUNT) if _raw.b2b_reason_code(r) == n),
                   _raw.B2B_ENAME))


class OverBudget(_Named):
    """Shop setting: what happens to over-budget orders."""

    BLOCK = _raw.B2B_OVER_BUDGET_BLOCK
    ADMIN_OVERRIDE = _raw.B2B_OVER_BUDGET_ADMIN_OVERRIDE


OverBudget._name_fn = staticmethod(lambda v: {0: "block", 1: "admin_override"}.get(v))
OverBudget._from_name_fn = staticmethod(
    lambda n: {"block": 0, "admin_override": 1}.get(n, _raw.B2B_ENAME))


# ------------------------------------------------------------------------------------------
# Version and money
# ------------------------------------------------------------------------------------------

def version() -> str:
    """Version of the C library in use, ``"MAJOR.MINOR.PATCH"``."""
    return _raw.b2b_version()


def version_number() -> int:
    """Version of the C library in use as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return _raw.b2b_version_number()


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{what} must be an int, not {type(value).__name__}")
    return value


def _minor(value: Amount, currency: Optional[str], what: str) -> int:
    """An amount argument as minor units: an int as is, a str parsed in ``currency``."""
    if isinstance(value, str):
        if currency is None:
            raise _bad(f"{what}: a decimal string needs a currency")
        return parse_money(value, currency)
    value = _int(value, what)
    if not -MONEY_MAX <= value <= MONEY_MAX:
        raise Error(_raw.B2B_ERANGE, f"{what} = {value}")
    return value


def _str(value, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{what} must be a str, not {type(value).__name__}")
    return value


def currency_exponent(currency: str) -> int:
    """Decimal places of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for KWD)."""
    rc = _raw.b2b_currency_exponent(_str(currency, "currency"))
    _ok(min(rc, 0), currency if rc < 0 else None)
    return rc


def parse_money(text: str, currency: str) -> int:
    """Parses a decimal string exactly into minor units: ``parse_money("436.00", "EUR") == 43600``."""
    out = _raw.b2b_amount()
    _ok(_raw.b2bx_money_parse(out, _str(text, "text"), _str(currency, "currency")),
        f"{text!r} {currency}")
    return out.value


def format_money(amount: int, currency: str) -> str:
    """Formats minor units as a plain decimal string: ``format_money(43600, "EUR") == "436.00"``."""
    out = _raw.b2b_text()
    _ok(_raw.b2b_money_format(out, _minor(amount, None, "amount"), _str(currency, "currency")))
    return out.text


def display_money(amount: Amount, currency: str, lang: Union[Lang, str] = Lang.DE) -> str:
    """Formats an amount for people: ``"1.234,50 €"`` (de) or ``"€1,234.50"`` (en)."""
    out = _raw.b2b_text()
    _ok(_raw.b2b_money_display(out, _minor(amount, currency, "amount"),
                               _str(currency, "currency"), _lang(lang)))
    return out.text


def _money_op(fn, a: int, b: int) -> int:
    out = _raw.b2b_amount()
    _ok(fn(out, a, b))
    return out.value


def add_money(a: Amount, b: Amount, currency: str) -> str:
    """Exact sum of two amounts as a decimal string: ``add_money("0.10", "0.20", "EUR") == "0.30"``."""
    return format_money(_money_op(_raw.b2bx_money_add, _minor(a, currency, "a"),
                                  _minor(b, currency, "b")), currency)


def sub_money(a: Amount, b: Amount, currency: str) -> str:
    """Exact difference ``a - b`` as a decimal string."""
    return format_money(_money_op(_raw.b2bx_money_sub, _minor(a, currency, "a"),
                                  _minor(b, currency, "b")), currency)


def mul_money(amount: Amount, factor: int, currency: str) -> str:
    """Exact product of an amount and an integer factor (unit price x quantity)."""
    return format_money(_money_op(_raw.b2bx_money_mul, _minor(amount, currency, "amount"),
                                  _int(factor, "factor")), currency)


def basis_amount(basis: Union[Basis, int, str], total: Amount, tax: Amount, subtotal: Amount,
                 currency: Optional[str] = None) -> int:
    """The amount budgets see for a shop's basis: net = total - tax, gross = total,
    goods = subtotal. Returns minor units."""
    out = _raw.b2b_amount()
    _ok(_raw.b2bx_money_basis_amount(out, _enum(Basis, basis, "basis"),
                                     _minor(total, currency, "total"),
                                     _minor(tax, currency, "tax"),
                                     _minor(subtotal, currency, "subtotal")))
    return out.value


# ------------------------------------------------------------------------------------------
# Plans
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FiscalPosition:
    """Where a calendar month falls in a fiscal year."""

    fiscal_year: int
    index: int


def fiscal_position(year: int, month: int, start_month: int = 1) -> FiscalPosition:
    """Fiscal year and index (1..12) of calendar ``month`` of ``year``."""
    out = _raw.b2b_fiscal_pos()
    _ok(_raw.b2b_fiscal_position(out, _int(year, "year"), _int(month, "month"),
                                 _int(start_month, "start_month")))
    return FiscalPosition(out.fiscal_year, out.index)


class Plan:
    """A budget plan for one fiscal year: an annual amount and/or calendar months.

    ``months`` maps calendar months (1..12; ``"1"``.. also accepted) to amounts. Amounts are ints
    (minor units) or decimal strings in ``currency``. The plan is checked when created: an
    invalid plan raises :class:`Error` (``months_exceed_annual``, ``months_below_annual``, ...).
    Derived amounts are returned as decimal strings (``month``, ``period``, ``annual``) or as
    minor units (``month_minor``, ``period_minor``, ``annual_minor``); ``None`` means no budget.
    """

    __slots__ = ("_plan", "currency", "__weakref__")

    def __init__(self, annual: Optional[Amount] = None, currency: str = "EUR",
                 months: Optional[Mapping[Union[int, str], Optional[Amount]]] = None,
                 start_month: int = 1, rollover: bool = False):
        currency_exponent(currency)
        self.currency = currency
        self._plan = _raw.b2b_plan()
        if annual is not None:
            _ok(_raw.b2b_plan_set_annual(self._plan, _minor(annual, currency, "annual")),
                "annual")
        for key, value in (months or {}).items():
            month = int(key) if isinstance(key, str) and key.strip().isdigit() else key
            month = _int(month, "month")
            if value is None:
                _ok(_raw.b2b_plan_clear_month(self._plan, month), f"month {month}")
            else:
                _ok(_raw.b2b_plan_set_month(self._plan, month,
                                            _minor(value, currency, f"month {month}")),
                    f"month {month}")
        _ok(_raw.b2b_plan_set_start_month(self._plan, _int(start_month, "start_month")),
            f"start_month {start_month}")
        _ok(_raw.b2b_plan_set_rollover(self._plan, 1 if rollover else 0))
        _ok(_raw.b2b_plan_validate(self._plan))

    @property
    def start_month(self) -> int:
        """Calendar month in which the fiscal year starts."""
        return _raw.b2b_plan_start_month(self._plan)

    @property
    def rollover(self) -> bool:
        """Whether a month is checked against the cumulative amount of the fiscal year so far."""
        return bool(_raw.b2b_plan_rollover(self._plan))

    def _get(self, fn, *args) -> Optional[int]:
        out = _raw.b2b_amount()
        _ok(fn(out, self._plan, *args))
        return out.value if out.is_set else None

    def _fmt(self, value: Optional[int]) -> Optional[str]:
        return None if value is None else format_money(value, self.currency)

    @property
    def annual_minor(self) -> Optional[int]:
        """The annual amount in force in minor units (entered, or the sum of the months)."""
        return self._get(_raw.b2b_plan_annual)

    @property
    def annual(self) -> Optional[str]:
        """The annual amount in force as a decimal string, or None."""
        return self._fmt(self.annual_minor)

    def entered_minor(self, month: int) -> Optional[int]:
        """What was entered for calendar ``month``, before derivation (minor units or None)."""
        return self._get(_raw.b2b_plan_entered_month, _int(month, "month"))

    def month_minor(self, month: int) -> Optional[int]:
        """The derived amount of calendar ``month`` in minor units, or None."""
        return self._get(_raw.b2b_plan_month, _int(month, "month"))

    def month(self, month: int) -> Optional[str]:
        """The derived amount of calendar ``month`` as a decimal string, or None."""
        return self._fmt(self.month_minor(month))

    def period_minor(self, month: int) -> Optional[int]:
        """What calendar ``month`` is checked against (with rollover: cumulative), minor units."""
        return self._get(_raw.b2b_plan_period, _int(month, "month"))

    def period(self, month: int) -> Optional[str]:
        """What calendar ``month`` is checked against, as a decimal string, or None."""
        return self._fmt(self.period_minor(month))

    def months(self) -> List[Optional[str]]:
        """The twelve derived month amounts in calendar order (decimal strings or None)."""
        return [self.month(m) for m in range(1, 13)]

    def __repr__(self) -> str:
        return (f"Plan(annual={self.annual!r}, currency={self.currency!r}, "
                f"start_month={self.start_month}, rollover={self.rollover})")


# ------------------------------------------------------------------------------------------
# Budget check
# ------------------------------------------------------------------------------------------

class Budget:
    """One budget that applies to an order, with what is already spent and reserved.

    ``amount`` None means no budget for this scope and period. Amounts are ints (minor units)
    or decimal strings in ``currency``; ``currency`` None means the order's shop currency
    (decimal strings are then parsed when the check runs).
    """

    __slots__ = ("scope", "period", "amount", "spent", "reserved", "currency")

    def __init__(self, scope: Union[Scope, int, str], period: Union[Period, int, str],
                 amount: Optional[Amount], spent: Amount = 0, reserved: Amount = 0,
                 currency: Optional[str] = None):
        self.scope = _enum(Scope, scope, "scope")
        self.period = _enum(Period, period, "period")
        self.currency = None if currency is None else _str(currency, "currency")
        self.amount = self._amount(amount, "amount") if amount is not None else None
        self.spent = self._amount(spent, "spent")
        self.reserved = self._amount(reserved, "reserved")

    def _amount(self, value: Amount, what: str) -> Amount:
        if isinstance(value, str) and self.currency is None:
            return value  # parsed in the order's currency by check()
        return _minor(value, self.currency, what)

    def __repr__(self) -> str:
        return (f"Budget({self.scope.name}, {self.period.name}, amount={self.amount!r}, "
                f"spent={self.spent!r}, reserved={self.reserved!r}, currency={self.currency!r})")


class Order:
    """An order's amount on the shop's budget basis, in shop and (optionally) presentment money."""

    __slots__ = ("shop_amount", "shop_currency", "presentment_amount", "presentment_currency")

    def __init__(self, shop_amount: Amount, shop_currency: str,
                 presentment_amount: Optional[Amount] = None,
                 presentment_currency: Optional[str] = None):
        self.shop_currency = _str(shop_currency, "shop_currency")
        self.shop_amount = _minor(shop_amount, shop_currency, "shop_amount")
        self.presentment_currency = presentment_currency or ""
        if presentment_amount is None:
            self.presentment_amount = 0
        else:
            self.presentment_amount = _minor(presentment_amount, presentment_currency or None,
                                             "presentment_amount")

    def __repr__(self) -> str:
        return (f"Order({self.shop_amount}, {self.shop_currency!r}, {self.presentment_amount}, "
                f"{self.presentment_currency!r})")


class CheckLine:
    """The result for one budget; every amount is in the budget's currency (minor units)."""

    __slots__ = ("scope", "period", "level", "budget", "amount", "used", "after",
                 "available_before", "available_after", "percent_bp", "currency", "_raw_line")

    def __init__(self, line):
        self._raw_line = line
        self.scope = Scope(line.scope)
        self.period = Period(line.period)
        self.level = Level(line.level)
        self.budget = line.budget
        self.amount = line.amount
        self.used = line.used
        self.after = line.after
        self.available_before = line.available_before
        self.available_after = line.available_after
        self.percent_bp = line.percent_bp  # -1: unset, zero budget or currency mismatch
        self.currency = line.currency

    @property
    def blocks(self) -> bool:
        """True when this line's level blocks submit and approve."""
        return self.level.blocks

    def explain(self, lang: Union[Lang, str] = Lang.DE) -> str:
        """One line for people, e.g. ``"Standort, Monat: Budget 1.000,00 €, ..."``."""
        out = _raw.b2b_text()
        _ok(_raw.b2b_check_line_explain(out, self._raw_line, _lang(lang)))
        return out.text

    def __repr__(self) -> str:
        return (f"CheckLine({self.scope.name}, {self.period.name}, {self.level.name}, "
                f"budget={self.budget}, after={self.after}, percent_bp={self.percent_bp})")


@dataclass(frozen=True)
class CheckResult:
    """All lines of a check and the worst level (the order's budget status)."""

    worst: Level
    lines: Tuple[CheckLine, ...]

    @property
    def blocks(self) -> bool:
        """True when the order may not be submitted or approved (over budget, mismatch)."""
        return self.worst.blocks

    def explain(self, lang: Union[Lang, str] = Lang.DE) -> List[str]:
        """The explanation line of every budget line."""
        return [line.explain(lang) for line in self.lines]


def check(order: Order, budgets: Iterable[Budget], near_bp: int = NEAR_DEFAULT_BP) -> CheckResult:
    """Checks ``order`` against every budget (in the given order)."""
    if not isinstance(order, Order):
        raise _bad("order must be an Order")
    chk = _raw.b2b_check()
    add = _raw.b2bx_check_add
    for b in budgets:
        if not isinstance(b, Budget):
            raise _bad("budgets must be Budget objects")
        cur = b.currency
        amount, spent, reserved = b.amount, b.spent, b.reserved
        if cur is None:
            cur = order.shop_currency
            if amount.__class__ is str:
                amount = parse_money(amount, cur)
            if spent.__class__ is str:
                spent = parse_money(spent, cur)
            if reserved.__class__ is str:
                reserved = parse_money(reserved, cur)
        is_set = amount is not None
        _ok(add(chk, b.scope, b.period, is_set, amount if is_set else 0, spent, reserved, cur))
    _ok(_raw.b2bx_check_run(chk, order.shop_amount, order.shop_currency,
                            order.presentment_amount, order.presentment_currency,
                            _int(near_bp, "near_bp")))
    lines = []
    for i in range(_raw.b2b_check_count(chk)):
        line = _raw.b2b_check_line()
        _ok(_raw.b2b_check_line_at(line, chk, i))
        lines.append(CheckLine(line))
    return CheckResult(Level(_raw.b2b_check_worst(chk)), tuple(lines))


def level_blocks(level: Union[Level, int, str]) -> bool:
    """True when ``level`` blocks submit and approve."""
    return _enum(Level, level, "level").blocks


# ------------------------------------------------------------------------------------------
# State machine
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """The state of one approval case (a value; :meth:`apply` returns a new one)."""

    state: State = State.NONE
    content_version: int = 0
    approved_version: int = 0
    completed_without_approval: bool = False

    def _to_raw(self):
        c = _raw.b2b_case()
        c.state = _enum(State, self.state, "state")
        c.content_version = _int(self.content_version, "content_version")
        c.approved_version = _int(self.approved_version, "approved_version")
        c.completed_without_approval = 1 if self.completed_without_approval else 0
        return c

    def apply(self, event: Union[Event, int, str], content_version: int = 0) -> "Case":
        """The case after ``event``; :class:`Error` ``illegal_transition``, ``stale_content``,
        ``invalid_version`` ... when the event is not allowed."""
        out = _raw.b2b_case()
        _ok(_raw.b2b_case_apply(out, self._to_raw(), _enum(Event, event, "event"),
                                _int(content_version, "content_version")))
        return Case(State(out.state), out.content_version, out.approved_version,
                    bool(out.completed_without_approval))


def next_state(state: Union[State, int, str], event: Union[Event, int, str]) -> State:
    """The state the table leads to; :class:`Error` ``illegal_transition`` if none."""
    rc = _raw.b2bx_state_next(_enum(State, state, "state"), _enum(Event, event, "event"))
    _ok(min(rc, 0))
    return State(rc)


def state_allows(state: Union[State, int, str], event: Union[Event, int, str]) -> bool:
    """True when the table allows ``event`` in ``state``."""
    return bool(_raw.b2b_state_allows(_enum(State, state, "state"), _enum(Event, event, "event")))


def state_is_open(state: Union[State, int, str]) -> bool:
    """True for states in which the order waits for someone."""
    return bool(_raw.b2b_state_is_open(_enum(State, state, "state")))


def state_usage(state: Union[State, int, str]) -> Usage:
    """How the amount of an order in ``state`` counts against budgets."""
    return Usage(_raw.b2b_state_usage(_enum(State, state, "state")))


def event_source(event: Union[Event, int, str]) -> Source:
    """Who may cause ``event``."""
    return Source(_raw.b2b_event_source(_enum(Event, event, "event")))


# ------------------------------------------------------------------------------------------
# Permissions
# ------------------------------------------------------------------------------------------

class Actor:
    """The person acting: role, assigned location ids, whether they submitted the order."""

    __slots__ = ("_actor",)

    def __init__(self, role: Union[Role, int, str], locations: Iterable[int] = (),
                 submitted: bool = False):
        self._actor = _raw.b2b_actor()
        _ok(_raw.b2b_actor_set_role(self._actor, _enum(Role, role, "role")))
        for loc in locations:
            _ok(_raw.b2b_actor_add_location(self._actor, _int(loc, "location")),
                f"location {loc}")
        _ok(_raw.b2b_actor_set_submitted(self._actor, 1 if submitted else 0))

    @property
    def role(self) -> Role:
        return Role(_raw.b2b_actor_role(self._actor))

    def assigned(self, location_id: int) -> bool:
        """True when the actor may act at ``location_id`` (company admins: everywhere)."""
        return bool(_raw.b2b_actor_assigned(self._actor, _int(location_id, "location_id")))


@dataclass(frozen=True)
class OrderContext:
    """The order (or budget location) an action is about."""

    location_id: int = 0
    state: State = State.DRAFT
    level: Level = Level.UNSET


@dataclass(frozen=True)
class Policy:
    """Shop policy for approvals (defaults: block over-budget orders, four-eyes off)."""

    over_budget: OverBudget = OverBudget.BLOCK
    four_eyes: bool = False


@dataclass(frozen=True)
class Decision:
    """Whether an action is allowed, and every reason it is not."""

    allowed: bool
    override: bool
    reasons: Tuple[Reason, ...]

    def messages(self, lang: Union[Lang, str] = Lang.DE) -> List[str]:
        """The explanation of every failing reason, for people."""
        return [r.message(lang) for r in self.reasons]

    def __bool__(self) -> bool:
        return self.allowed


def decide(actor: Actor, action: Union[Action, int, str], order: Optional[OrderContext] = None,
           policy: Optional[Policy] = None, has_note: bool = False) -> Decision:
    """Decides whether ``actor`` may take ``action`` on ``order`` under ``policy``.

    ``order`` may be None only for :attr:`Action.MANAGE_USERS`.
    """
    if not isinstance(actor, Actor):
        raise _bad("actor must be an Actor")
    ctx = None
    if order is not None:
        if not isinstance(order, OrderContext):
            raise _bad("order must be an OrderContext or None")
        ctx = _raw.b2b_order_ctx()
        ctx.location_id = _int(order.location_id, "location_id")
        ctx.state = _enum(State, order.state, "state")
        ctx.level = _enum(Level, order.level, "level")
    pol = _raw.b2b_policy_default()
    if policy is not None:
        pol.over_budget = _enum(OverBudget, policy.over_budget, "over_budget")
        pol.four_eyes = 1 if policy.four_eyes else 0
    out = _raw.b2b_decision()
    _ok(_raw.b2b_permission_check(out, actor._actor, _enum(Action, action, "action"), ctx, pol,
                                  1 if has_note else 0))
    reasons = tuple(Reason(r) for r in range(_raw.B2B_REASON_COUNT) if out.reasons & (1 << r))
    return Decision(bool(out.allowed), bool(out.is_override), reasons)


def role_from_shopify(is_main_contact: bool, shopify_role: Optional[str]) -> Role:
    """Role for a Shopify company contact (main contact -> company admin, ...)."""
    return Role(_raw.b2b_role_from_shopify(1 if is_main_contact else 0, shopify_role))
