"""Deploy: turning a plan into steps (pure ``strategies``) and carrying them out (the executor)."""
