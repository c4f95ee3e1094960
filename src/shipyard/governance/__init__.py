"""Governance: the audit trail now; access control, fairness and compliance reports later."""
