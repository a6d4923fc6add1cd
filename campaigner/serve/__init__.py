"""``campaigner serve``: every campaign file of a folder, run per its schedule, in one process.

One trio nursery tree: one callback receiver (routed by each run's token), one account
budget per Exotel account (campaigner.engine.limiter), and one supervised service per
campaign file that runs the engine's ``run_campaign`` and restarts it from its journal
when the file changes.
"""
