"""Who may be called, as pure rules: DND policy, opt-out lists, frequency caps and gaps.

Nothing here performs I/O beyond reading an opt-out file it is given: the engine
(``campaigner.engine.screener``, ``campaigner.engine.dialer``) asks the shared store
for facts (cached number metadata, earlier calls) and these functions decide.
"""
