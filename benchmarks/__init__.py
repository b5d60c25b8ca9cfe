"""`make bench`: wall time, per-call cost and database writes of the smart trailing stop."""
