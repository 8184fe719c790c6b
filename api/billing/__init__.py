"""Billing's reads: parties, orders, invoices, credit notes and rentals."""
