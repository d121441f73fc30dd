"""``./run bench`` (issue 13): the whole chain measured next to what this machine can do, in one run.

Modules, one job each: ``system`` (start the system and helper processes), ``receiver`` (the agencies' webhook
receiver, its own process), ``bare_app`` (P3's limit), ``limits`` (P3's and P4's limits), ``wrk`` (wrk's Lua script
and output), ``load`` (the notices and how they are sent), ``arrivals`` (what reached the receiver), ``phases``
(P1 to P6), ``rss`` (P6), ``stats``, ``report`` (results.json and the table), ``plot`` (latency.png), ``cli``.
"""
