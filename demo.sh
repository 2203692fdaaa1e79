#!/usr/bin/env bash
# Builds what the demo needs, starts a real Keycloak, the Profile and Reference services and tcs
# twice (without and with the starter) on 127.0.0.1, replays the six outage drills, prints the
# scorecard and writes examples/outage-demo/target/outage-demo/report.html. Every process it starts
# stops with it, Ctrl-C included. Options: --phase-seconds=N (default 20), --drills=D1,D4, --check.
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -ntp -Dstyle.color=never install -DskipTests -pl examples/outage-demo -am
cd examples/outage-demo
exec java -Dkeycloak.home="target/keycloak/keycloak-26.4.7" -cp "target/classes:$(cat target/classpath.txt)" \
  uk.nhs.hee.tis.examples.demo.OutageDemo "$@"
