"""The hazard rules, one file each, registered once (see ``registry``)."""
