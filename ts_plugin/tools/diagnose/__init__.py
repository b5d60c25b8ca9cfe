"""``ts-plugin diagnose``: judge running bots from what they report over their REST API.

``snapshot`` (one read-only poll), ``checks`` and ``holdings`` (what one snapshot shows, pure),
``verdict`` (a series of snapshots to a verdict, pure), ``evidence`` and ``report`` (for people and
machines), ``session`` (the polling loop).
"""
