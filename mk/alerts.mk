# Suspicious-login reports and forced password changes (tests/alert/run.sh):
# `maillog alerts` against Postfix's smtp-sink on loopback, then end to end
# with real Postfix and Dovecot (tests/integration/lib.sh): a login from an
# unusual country, ingest, the report in the owner's mailbox, and an IMAP
# login with the new password while the old one fails. Needs root (installs
# scripts/deps.sh groups servers, geoip, alerts when missing). About half a minute.
# The C unit tests of src/alert (tests/alert/test_*.c) run in check-unit.

.PHONY: check-alerts
check-alerts: all
	tests/alert/run.sh

CHECK_TARGETS += check-alerts

# Timing of `maillog alerts` on 1000 domains / 200k access events (smtp-sink).
.PHONY: bench-alerts
bench-alerts: all
	scripts/deps.sh servers
	/usr/bin/python3 tests/alert/bench_alerts.py

BENCH_TARGETS += bench-alerts
