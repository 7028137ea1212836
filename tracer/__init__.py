"""wgtrace.tracer"""
