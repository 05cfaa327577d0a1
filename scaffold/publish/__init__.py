"""For blueprint publishers: the answer-set matrix and the golden examples."""
