"""The end-to-end strategy with shorting allowed (futures tests force-enter short trades)."""

from tests.e2e.strategies.e2e_trailing import E2ETrailing


class E2ETrailingShort(E2ETrailing):
    can_short = True
