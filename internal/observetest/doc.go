// Package observetest holds the tests of what operators watch the service with: the Prometheus
// alert rules in deploy/prometheus (promtool's unit tests, run from Go) and the Grafana dashboard in
// deploy/grafana, whose every PromQL expression, like every rule's, must parse and name only
// metrics that a running worker and relay export. It has no code of its own.
package observetest
