# oadr20b: the scripted OpenADR 2.0b VEN cases (VTN scripts), compiled into the program with the
# others.  Grouped by service: registration, opt and general (reg.mk), events (event.mk), the
# A-profile event cases (aevent.mk), reports (report.mk); the rest here.
GE_CF_CASES += \
	conformance/cases/oadr20b/GE-OADR20B-001.case \
	conformance/cases/oadr20b/GE-OADR20B-002.case \
	conformance/cases/oadr20b/GE-OADR20B-003.case \
	conformance/cases/oadr20b/GE-OADR20B-004.case \
	conformance/cases/oadr20b/GE-OADR20B-005.case \
	conformance/cases/oadr20b/GE-OADR20B-006.case \
	conformance/cases/oadr20b/GE-OADR20B-007.case \
	conformance/cases/oadr20b/oadr-base.inc
include $(srcdir)/conformance/cases/oadr20b/reg.mk
include $(srcdir)/conformance/cases/oadr20b/event.mk
include $(srcdir)/conformance/cases/oadr20b/aevent.mk
include $(srcdir)/conformance/cases/oadr20b/report.mk
