"""wgtrace.replay"""
