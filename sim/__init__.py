"""wgtrace.sim"""
