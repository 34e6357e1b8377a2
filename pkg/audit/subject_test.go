package audit

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// The builders spell the subjects the publisher uses, and each filter matches exactly the subjects
// it names.
func TestSubjects(t *testing.T) {
	t.Parallel()
	p := &Publisher{prefix: "acme.prod"}
	hostile := mustUserEvent(t, Record{JobID: "job-9", Outcome: OutcomeNotFound, Time: testTime, User: Target{ID: "a.*.>"}})
	deactivated := mustUserEvent(t, fullRecord())
	ops, err := Origin{}.OpsEvent(Ops{Kind: "guard_tripped", Message: "guard tripped", Time: testTime})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{UserSubject("acme.prod", OutcomeDeactivated, testUser), p.Subject(deactivated)},
		{UserSubject("acme.prod", OutcomeNotFound, "a.*.>"), p.Subject(hostile)},
		{UserSubject("acme.prod", OutcomeNotFound, "a.*.>"), "acme.prod.audit.user.not_found.a~2E~2A~2E~3E"},
		{OpsSubject("acme.prod", "guard_tripped"), p.Subject(ops)},
		{Subjects("genesys"), "genesys.audit.>"},
		{UserSubjects("genesys", ""), "genesys.audit.user.>"},
		{UserSubjects("genesys", OutcomeExhausted), "genesys.audit.user.exhausted.*"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	subject := UserSubject(DefaultPrefix, OutcomeDeactivated, testUser)
	for _, tc := range []struct {
		filter string
		match  bool
	}{
		{Subjects(DefaultPrefix), true},
		{UserSubjects(DefaultPrefix, ""), true},
		{UserSubjects(DefaultPrefix, OutcomeDeactivated), true},
		{UserSubjects(DefaultPrefix, OutcomeReactivated), false},
		{OpsSubject(DefaultPrefix, "*"), false},
	} {
		if got := server.SubjectMatchesFilter(subject, tc.filter); got != tc.match {
			t.Errorf("%s matches %s: %v, want %v", subject, tc.filter, got, tc.match)
		}
	}
}
