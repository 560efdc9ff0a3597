# Integration tests against real servers (tests/integration/run.sh): Debian's
# Postfix, Dovecot and rsyslog started on loopback with configs in a temporary
# directory, real traffic, then the product's ingest, search and CGI checked
# against what the traffic driver did. Needs root (installs scripts/deps.sh
# groups servers + geoip when missing, starts daemons in a private mount
# namespace). About a minute.

.PHONY: check-integration
check-integration: all
	tests/integration/run.sh

CHECK_TARGETS += check-integration
