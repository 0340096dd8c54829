"""Progress through work done in parts of known relative cost, reported as one fraction of the whole.

A long style's analysis is decoded, encoded, passed through the network
and sorted, in different functions and at different speeds: each part
says how much of itself is done, and the whole weighs each part by its
expected cost, so that the remaining time a bar shows from it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

#: Told what fraction (0 to 1) of something is done.
Fraction = Callable[[float], None]


class Parts:
    """The fraction of a job done, from its parts' own fractions weighed by ``costs`` (any unit, by part key).

    ``report`` hears the whole's fraction whenever a part advances; with no
    ``report`` every :meth:`part` is None, so the work pays nothing for it.
    """

    def __init__(
        self,
        report: Fraction | None = None,
        costs: Mapping[Hashable, float] | None = None,
    ):
        self._report = report
        self._costs = dict(costs or {})
        self._total = sum(self._costs.values())
        self._done = dict.fromkeys(self._costs, 0.0)

    def part(self, key: Hashable) -> Fraction | None:
        """The callback through which the part ``key`` (one of ``costs``) reports its own fraction done."""
        if self._report is None:
            return None
        cost = self._costs[key]

        def advance(fraction: float) -> None:
            self._done[key] = min(max(fraction, 0.0), 1.0) * cost
            self.report()

        return advance

    def report(self) -> None:
        """Tell ``report`` the whole's fraction done now."""
        if self._report is not None:
            done = sum(self._done.values())
            self._report(min(done / self._total, 1.0) if self._total else 1.0)

    def finish(self) -> None:
        """Every part done: the whole reports 1, whatever the parts last said (a header that overstated a file's length leaves its decode short of 1)."""
        for key, cost in self._costs.items():
            self._done[key] = cost
        self.report()


#: Progress no one listens to: the default where reporting is optional.
SILENT = Parts()
