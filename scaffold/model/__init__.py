"""The typed service model: answers in, every derived value (SLO math, stacks) computed once."""
