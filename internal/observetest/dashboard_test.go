package observetest

import (
	"encoding/json"
	"testing"
)

// The dashboard follows Grafana's dashboard model (Grafana 10+): a schemaVersion and a uid,
// a datasource variable every panel and target uses (so that it imports into any Grafana with any
// Prometheus), unique panel ids, panels placed on the 24-column grid, and a query in every
// panel but a row.
func TestDashboardIsImportable(t *testing.T) {
	d := readDashboard(t)
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want one of Grafana 10+ (36 or later)", d.SchemaVersion)
	}
	if d.UID == "" || len(d.UID) > 40 || d.Title == "" {
		t.Errorf("uid %q (1-40 characters) and title %q must be set", d.UID, d.Title)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Error("no datasource variable of type prometheus named datasource")
	}
	ids := map[int]bool{}
	for _, p := range allPanels(d.Panels) {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		var ds struct{ Type, UID string }
		if err := json.Unmarshal(p.Datasource, &ds); err != nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %s, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" {
				t.Errorf("panel %q: a target without expr or refId", p.Title)
			}
		}
	}
	// What issue 20 asks the dashboard to show, by the metric that shows it.
	want := map[string]string{
		"throughput by outcome": "genesys_jobs_total",
		"budget use":            "genesys_budget_grants_total",
		"budget limit":          "genesys_budget_limit_in_force",
		"time to access cut":    "genesys_job_publish_to_deactivation_seconds_bucket",
		"queue depth per lane":  "genesys_consumer_pending_jobs",
		"dead letters":          "genesys_dead_letters",
		"relay delivery lag":    "audit_relay_oldest_undelivered_seconds",
		"guard state":           "genesys_guard_held",
		"verification":          "genesys_verifications_total",
		"drift":                 "genesys_drift_findings_total",
		"ingress requests":      "genesys_ingress_requests_total",
		"ingress events":        "genesys_ingress_events_total",
		"ingress auth failures": "genesys_ingress_auth_failures_total",
		"ingress rate-limited":  "genesys_ingress_rate_limited_total",
		"ingress publish p99":   "genesys_ingress_publish_seconds_bucket",
	}
	used := map[string]bool{}
	for _, e := range dashboardExpressions(t) {
		names, _ := metricNames(e.expr)
		for _, n := range names {
			used[n] = true
		}
	}
	for what, metric := range want {
		if !used[metric] {
			t.Errorf("the dashboard does not show %s (%s)", what, metric)
		}
	}
}
