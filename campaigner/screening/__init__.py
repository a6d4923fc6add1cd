"""Who may be called: DND policy, opt-out lists, frequency caps and gaps.

``dnd``, ``frequency`` and ``optout`` are the pure rules (no I/O beyond reading an
opt-out file they are given). ``rule`` puts each behind one interface,
:class:`~campaigner.screening.rule.ScreeningRule`, bound to the shared store's facts
(cached number metadata, earlier calls): the run (``campaigner.engine.prepare``,
``screener``, ``calling_rules``), ``plan`` and ``screen`` all apply them through it.
"""
