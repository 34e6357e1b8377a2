package workercmd

import (
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Each read-back round counts under genesys_verifications_total{result}, and each failed check
// under genesys_verification_checks_failed_total{check}; both series exist before the first.
func TestVerificationMetrics(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	if n := counterValue(t, m.verifications.WithLabelValues("unverified")); n != 0 {
		t.Fatalf("unverified %v before any read-back", n)
	}
	o := observer{m}
	o.Verified(false, []string{worker.CheckSCIMActive, worker.CheckTokenAfter})
	o.Verified(true, nil)
	o.Verified(true, nil)
	for _, tt := range []struct {
		got  float64
		want float64
		what string
	}{
		{counterValue(t, m.verifications.WithLabelValues("verified")), 2, "verified"},
		{counterValue(t, m.verifications.WithLabelValues("unverified")), 1, "unverified"},
		{counterValue(t, m.failedChecks.WithLabelValues(worker.CheckSCIMActive)), 1, "scim_active failed"},
		{counterValue(t, m.failedChecks.WithLabelValues(worker.CheckRoutingStatus)), 0, "routing_status failed"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.what, tt.got, tt.want)
		}
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if mf.GetName() == "genesys_verifications_total" || mf.GetName() == "genesys_verification_checks_failed_total" {
			series += len(mf.GetMetric())
		}
	}
	if series != 5 {
		t.Errorf("%d series, want 5 (2 results, 3 checks)", series)
	}
}
