# oadr20b cases: events (E), pull (1) and push (0).
GE_CF_CASES += \
	conformance/cases/oadr20b/E1_1010.case \
	conformance/cases/oadr20b/E1_1020.case \
	conformance/cases/oadr20b/E1_1025.case \
	conformance/cases/oadr20b/E1_1027.case \
	conformance/cases/oadr20b/E1_1030.case \
	conformance/cases/oadr20b/E1_1040.case \
	conformance/cases/oadr20b/E1_1050.case \
	conformance/cases/oadr20b/E1_1060.case \
	conformance/cases/oadr20b/E1_1065.case \
	conformance/cases/oadr20b/E1_1070.case \
	conformance/cases/oadr20b/E1_1080.case \
	conformance/cases/oadr20b/E0_6010.case \
	conformance/cases/oadr20b/E0_6020.case \
	conformance/cases/oadr20b/E0_6025.case \
	conformance/cases/oadr20b/E0_6027.case \
	conformance/cases/oadr20b/E0_6030.case \
	conformance/cases/oadr20b/E0_6040.case \
	conformance/cases/oadr20b/E0_6050.case \
	conformance/cases/oadr20b/E0_6060.case \
	conformance/cases/oadr20b/E0_6065.case \
	conformance/cases/oadr20b/E0_6070.case \
	conformance/cases/oadr20b/E0_6080.case
