package accounts_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The per-leaver report (issue 18) under the accounts: the auditor, who may only read the audit
// stream, runs genesysctl report over a deactivation the worker ran; so does the operator. The
// row's access cut is the worker's recorded token revocation (steps.revoke_tokens.revoked_at).
func TestReportUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	u, err := sim.AddUser(genesyssim.User{UserName: "acc-report@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	j := jobs.Job{ID: "acc-report", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr", Ticket: "HR-1"}
	if _, err := pub.Enqueue(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	waitDone(t, producer, j.ID)
	for _, role := range []string{"auditor", "operator"} {
		code, out, errOut := ctlAs(t, url, role, "report", "--from", "1h", "--to", "2100-01-01", "--format", "json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var row struct {
			JobID   string `json:"job_id"`
			UserID  string `json:"user_id"`
			Outcome string `json:"outcome"`
			SLA     string `json:"sla"`
			CutFrom string `json:"access_cut_from"`
		}
		if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &row) != nil {
			t.Fatalf("genesysctl report as the %s: exit %d\n%s%s", role, code, out, errOut)
		}
		if row.JobID != j.ID || row.UserID != u.ID || row.Outcome != "deactivated" || row.SLA != "met" || row.CutFrom != "revoked_at" {
			t.Errorf("%s: row %+v", role, row)
		}
	}
}
