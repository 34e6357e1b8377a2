package jobs

import (
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Names builds the audit subjects with the deployment's prefix (the default one for the zero
// value), the way the publisher stores the events.
func TestNamesAuditSubjects(t *testing.T) {
	t.Parallel()
	const uid = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"
	acme := Names{Prefix: "acme.prod"}
	for _, tc := range []struct{ got, want string }{
		{Names{}.AuditSubjects(), "genesys.audit.>"},
		{Names{}.UserAuditSubject(audit.OutcomeDeactivated, uid), "genesys.audit.user.deactivated." + uid},
		{acme.UserAuditSubject(audit.OutcomeNotFound, "a.b"), "acme.prod.audit.user.not_found.a~2Eb"},
		{acme.UserAuditSubjects(audit.OutcomeExhausted), "acme.prod.audit.user.exhausted.*"},
		{acme.UserAuditSubjects(""), "acme.prod.audit.user.>"},
		{acme.OpsAuditSubject("guard_tripped"), "acme.prod.audit.ops.guard_tripped"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
