"""Plans are data: the defaults of SPEC §7, which an operator can replace (IMGPRO_PLANS)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgpro.settings import PlanSettings

GB = 1024**3


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    price_usd_month: float
    uploads_per_month: int | None  # None = unlimited
    storage_bytes: int | None
    apps: int | None  # how many apps an owner on this plan may register; None = unlimited
    images: int | None = None  # most images stored at once; None = unlimited

    @property
    def limits_enforced(self) -> bool:
        """False only for a plan without any limit at all (``/v1/usage`` says so)."""
        return any(v is not None for v in (self.uploads_per_month, self.storage_bytes, self.images))

    def allows_apps(self, registered: int = 0) -> bool:
        """Whether an owner with ``registered`` apps may register one more."""
        return self.apps is None or registered < self.apps

    @property
    def price_label(self) -> str:
        """ "$19/mo", "$9.50/mo", "free"."""
        if not self.price_usd_month:
            return "free"
        p = self.price_usd_month
        return f"${int(p)}/mo" if p == int(p) else f"${p:.2f}/mo"


# SPEC §7: img.pro's own plans count stored images (Free 5,000, Pro 50,000 at $20, Unlimited
# at $100); the monthly upload and storage quotas of its authentication page are plan data too.
DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan("free", "Free", 0, 1_000, 5 * GB, apps=1, images=5_000),
    Plan("pro", "Pro", 20, 10_000, 50 * GB, apps=10, images=50_000),
    Plan("unlimited", "Unlimited", 100, None, None, apps=None, images=None),
)


def format_bytes(n: int) -> str:
    """1073741824 → "1 GB", 1536 → "1.5 KB", 3025567 → "2.89 MB" (binary units, as the limits
    are configured; two decimals at most, since a usage figure is rarely a round number)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{round(value, 2):g} {unit}"
        value /= 1024
    return f"{round(value, 2):g} TB"


def format_limit(limit: int | None, unit: str) -> str:
    """The "for …" part of an upgrade label: "1,000 uploads", "10 GB of storage"."""
    if limit is None:
        return f"unlimited {'storage' if unit == 'bytes' else unit}"
    if unit == "bytes":
        return f"{format_bytes(limit)} of storage"
    return f"{limit:,} {unit}"


class PlanBook:
    """The operator's plans, in upgrade order (cheapest first)."""

    def __init__(self, plans: Sequence[Plan] = DEFAULT_PLANS) -> None:
        if not plans:
            raise ValueError("at least one plan is required")
        names = [p.name for p in plans]
        if len(set(names)) != len(names):
            raise ValueError(f"plan names must be unique: {names}")
        self.plans = tuple(plans)
        self._by_name = {p.name: p for p in plans}

    @classmethod
    def from_settings(cls, configured: Sequence[PlanSettings]) -> PlanBook:
        """The configured plans (``Settings.plans``, already validated), or the defaults."""
        if not configured:
            return cls()
        return cls(
            tuple(
                Plan(
                    name=p.name,
                    title=p.title,
                    price_usd_month=p.price_usd_month,
                    uploads_per_month=p.uploads_per_month,
                    storage_bytes=p.storage_bytes,
                    apps=p.apps,
                    images=p.images,
                )
                for p in configured
            )
        )

    def get(self, name: str) -> Plan:
        # A workspace on a plan the operator has since removed keeps the first plan's limits.
        return self._by_name.get(name, self.plans[0])

    def exists(self, name: str) -> bool:
        return name in self._by_name

    def rank(self, name: str) -> int:
        """Position in upgrade order; an unknown plan ranks as the first one."""
        return self.plans.index(self.get(name))

    def next_after(self, name: str) -> Plan | None:
        names = [p.name for p in self.plans]
        if name not in names:
            return self.plans[1] if len(self.plans) > 1 else None
        i = names.index(name)
        return self.plans[i + 1] if i + 1 < len(self.plans) else None
