package audit

import "testing"

func TestOutcomeTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o                 Outcome
		status, severity  int
		deadLetter, valid bool
	}{
		{OutcomeDeactivated, StatusSuccess, SeverityInformational, false, true},
		{OutcomeAlreadyInactive, StatusSuccess, SeverityInformational, false, true},
		{OutcomeNotFound, StatusFailure, SeverityLow, false, true},
		{OutcomeDryRun, StatusOther, SeverityInformational, false, true},
		{OutcomeReactivated, StatusSuccess, SeverityInformational, false, true},
		{OutcomeProtected, StatusFailure, SeverityMedium, true, true},
		{OutcomeRejected, StatusFailure, SeverityMedium, true, true},
		{OutcomeConflict, StatusFailure, SeverityHigh, true, true},
		{OutcomeExhausted, StatusFailure, SeverityHigh, true, true},
		{OutcomeCleanedUp, StatusSuccess, SeverityInformational, false, true},
		{OutcomeCleanupSkipped, StatusOther, SeverityInformational, false, true},
		{"", StatusUnknown, 0, false, false},
		{"Deactivated", StatusUnknown, 0, false, false},
	}
	for _, tt := range tests {
		if got := tt.o.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v, want %v", tt.o, got, tt.valid)
		}
		if got := tt.o.StatusID(); got != tt.status {
			t.Errorf("%q.StatusID() = %d, want %d", tt.o, got, tt.status)
		}
		if got := tt.o.SeverityID(); got != tt.severity {
			t.Errorf("%q.SeverityID() = %d, want %d", tt.o, got, tt.severity)
		}
		if got := tt.o.DeadLetter(); got != tt.deadLetter {
			t.Errorf("%q.DeadLetter() = %v, want %v", tt.o, got, tt.deadLetter)
		}
	}
	if len(Outcomes) != len(outcomes) {
		t.Errorf("Outcomes lists %d outcomes, the table has %d", len(Outcomes), len(outcomes))
	}
	for _, o := range Outcomes {
		if !o.Valid() {
			t.Errorf("Outcomes lists %q, which is not valid", o)
		}
	}
}
