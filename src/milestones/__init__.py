"""crm-milestones: the four sales milestones, derived from your CRM and written back."""

__version__ = "0.3.0"
