"""Plans are data: the defaults of SPEC §7, which an operator can replace (IMGPRO_PLANS)."""

from __future__ import annotations

from dataclasses import dataclass

GB = 1024**3


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    price_usd_month: int
    uploads_per_month: int | None  # None = unlimited
    storage_bytes: int | None
    apps: bool


DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan("free", "Free", 0, 100, 1 * GB, apps=False),
    Plan("pro", "Pro", 19, 1000, 10 * GB, apps=True),
    Plan("unlimited", "Unlimited", 100, None, None, apps=True),
)


class PlanBook:
    """The operator's plans, in upgrade order (cheapest first)."""

    def __init__(self, plans: tuple[Plan, ...] = DEFAULT_PLANS) -> None:
        if not plans:
            raise ValueError("at least one plan is required")
        self.plans = plans
        self._by_name = {p.name: p for p in plans}

    def get(self, name: str) -> Plan:
        # A workspace on a plan the operator has since removed keeps the first plan's limits.
        return self._by_name.get(name, self.plans[0])

    def exists(self, name: str) -> bool:
        return name in self._by_name

    def next_after(self, name: str) -> Plan | None:
        names = [p.name for p in self.plans]
        if name not in names:
            return self.plans[1] if len(self.plans) > 1 else None
        i = names.index(name)
        return self.plans[i + 1] if i + 1 < len(self.plans) else None
