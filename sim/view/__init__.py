"""Seeing a trace under policies: an HTML report (``wgtrace report``) and a Perfetto timeline (``wgtrace export``).

``data`` gathers what the page shows as plain data (``memory`` over the recording's events, each
plan's ``timeline``, findings with their ``sources``, ``replayed`` figures), downsampled by ``bins``
keeping peaks; ``html`` renders it with plotly.js inlined; ``perfetto`` writes a plan as Chrome
trace-event JSON, timed by ``clock``; ``cli`` registers both commands.
"""
