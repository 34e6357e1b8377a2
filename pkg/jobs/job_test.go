package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testUUID = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"

func validJob() Job {
	return Job{
		Version:     Version,
		ID:          "job-1",
		Action:      ActionDeactivate,
		User:        UserRef{ID: testUUID},
		RequestedBy: "hr-bot",
	}
}

func TestJobSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix   string
		priority Priority
		want     string
	}{
		{"", PriorityNormal, "genesys.jobs.normal"},
		{"", PriorityUrgent, "genesys.jobs.urgent"},
		{"", "", "genesys.jobs.normal"},
		{"acme.prod", PriorityUrgent, "acme.prod.jobs.urgent"},
		{"acme", "bogus", "acme.jobs.normal"},
	}
	for _, tt := range tests {
		j := validJob()
		j.Priority = tt.priority
		if got := j.Subject(tt.prefix); got != tt.want {
			t.Errorf("Subject(%q) with priority %q = %q, want %q", tt.prefix, tt.priority, got, tt.want)
		}
	}
}

func TestJobMsgID(t *testing.T) {
	t.Parallel()
	j := validJob()
	if got := j.MsgID(); got != "job-1" {
		t.Errorf("MsgID() = %q, want the job id", got)
	}
}

func TestUserRefKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		u    UserRef
		want string
	}{
		{UserRef{ID: testUUID}, "id:" + testUUID},
		{UserRef{ExternalID: "E123"}, "external_id:E123"},
		{UserRef{UserName: "a@b.example"}, "user_name:a@b.example"},
		{UserRef{}, ""},
	}
	for _, tt := range tests {
		if got := tt.u.Key(); got != tt.want {
			t.Errorf("%+v.Key() = %q, want %q", tt.u, got, tt.want)
		}
	}
}

func TestDeterministicID(t *testing.T) {
	t.Parallel()
	base := DeterministicID("deactivate", "id:"+testUUID, "HR-1", "left")
	if base != DeterministicID("deactivate", "id:"+testUUID, "HR-1", "left") {
		t.Fatal("DeterministicID is not deterministic")
	}
	if !regexp.MustCompile(`^j-[a-z2-7]{26}$`).MatchString(base) {
		t.Errorf("DeterministicID = %q, want j- and 26 base32 characters", base)
	}
	j := validJob()
	j.ID = base
	if err := j.Validate(); err != nil {
		t.Errorf("a derived id is not a valid job id: %v", err)
	}
	others := [][4]string{
		{"reactivate", "id:" + testUUID, "HR-1", "left"},
		{"deactivate", "id:" + testUUID, "HR-2", "left"},
		{"deactivate", "id:" + testUUID, "HR-1", "left."},
		{"deactivate", "user_name:a@b.example", "HR-1", "left"},
		{"deactivate", "id:" + testUUID, "HR-1l", "eft"}, // moving a boundary changes the id
	}
	for _, o := range others {
		if got := DeterministicID(o[0], o[1], o[2], o[3]); got == base {
			t.Errorf("DeterministicID%q = %q, same as for different inputs", o, got)
		}
	}
}

func TestValidateZeroJob(t *testing.T) {
	t.Parallel()
	err := Job{}.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("Validate() = %v, want a *ValidationError matching ErrInvalidJob", err)
	}
	want := []Problem{
		{"version", "unsupported schema version 0"},
		{"id", "required"},
		{"action", "required"},
		{"user", "exactly one of id, external_id and user_name is required"},
		{"requested_by", "required"},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// A Job built in Go and accepted by Validate encodes to a document that the schema and Decode accept.
func TestValidJobEncodesToValidDocument(t *testing.T) {
	t.Parallel()
	full := validJob()
	full.User = UserRef{UserName: "jane.doe@example.com"}
	full.Reason, full.Ticket, full.Priority, full.DryRun = "left\tthe company\n", "HR-42", PriorityUrgent, true
	full.ReplayOf = "job-0"
	full.RequestedAt = time.Date(2026, 11, 27, 9, 30, 0, 5, time.FixedZone("", 3600))
	full.NotBefore = time.Date(2027, 1, 31, 17, 0, 0, 0, time.FixedZone("", -5*3600))
	for _, j := range []Job{validJob(), full} {
		if err := j.Validate(); err != nil {
			t.Fatalf("Validate() = %v", err)
		}
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateAgainstSchema(t, b); err != nil {
			t.Errorf("schema rejects %s: %v", b, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s) = %v", b, err)
		}
		if j.Priority == "" {
			j.Priority = PriorityNormal
		}
		if diff := cmp.Diff(j, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func ExampleDecode() {
	_, err := Decode([]byte(`{"version":1,"id":"job 1","action":"deactivate",
		"user":{"id":"../tokens/me"},"requested_by":"hr-bot","dry_run":"yes"}`))
	fmt.Println(errors.Is(err, ErrInvalidJob))
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%s: %s\n", p.Field, p.Message)
		}
	}
	// Output:
	// true
	// dry_run: must be a boolean, not a string
	// id: must contain only A-Z a-z 0-9 '-' '_' and single dots between them
	// user.id: must be a UUID (8-4-4-4-12 hex digits)
}

// An HR re-send with a new date is the same request: not_before stays out of the id.
func TestDeterministicIDIgnoresNotBefore(t *testing.T) {
	t.Parallel()
	j := validJob()
	k := j
	k.NotBefore = time.Date(2027, 1, 31, 17, 0, 0, 0, time.UTC)
	if j.DeterministicID() != k.DeterministicID() {
		t.Error("not_before changes DeterministicID")
	}
}
