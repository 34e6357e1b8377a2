package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeReadsAValidJob(t *testing.T) {
	t.Parallel()
	got, err := Decode([]byte(`{"version":1,"id":"job-1","action":"deactivate",
		"user":{"id":"0B5C3F2E-9A1D-4E6F-8B7A-1C2D3E4F5A6B"},"requested_by":"hr-bot","ticket":"HR-9"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := validJob()
	want.Ticket, want.Priority = "HR-9", PriorityNormal // user.id lowercased, priority defaulted
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
}

// An externalId that would change an unescaped SCIM filter is data: Decode keeps it byte for byte
// so that the Genesys client escapes the real value (and the lookup finds nobody).
func TestDecodeKeepsExternalIDVerbatim(t *testing.T) {
	t.Parallel()
	crafted := `x" or userName pr or externalId eq "\\`
	got, err := Decode([]byte(doc(setUser("external_id", crafted))))
	if err != nil {
		t.Fatal(err)
	}
	if got.User.ExternalID != crafted || got.User.ID != "" || got.User.Key() != "external_id:"+crafted {
		t.Errorf("user = %+v, want external_id %q only", got.User, crafted)
	}
}

func TestDecodeRejectsUnreadableMessages(t *testing.T) {
	t.Parallel()
	valid := doc(nil)
	tests := []struct {
		name    string
		data    string
		wantErr error
		wantMsg string
	}{
		{"oversized", valid + strings.Repeat(" ", MaxJobSize), ErrTooLarge, "jobs: larger than the size limit: 16509 bytes, limit 16384"},
		{"empty", "", ErrMalformed, "jobs: malformed JSON: unexpected end of input"},
		{"broken", `{"version":1,`, ErrMalformed, "jobs: malformed JSON: unexpected end of input"},
		{"bad token", `{"version":1,}`, ErrMalformed, "jobs: malformed JSON: invalid character '}' looking for beginning of object key string"},
		{"null", `null`, ErrMalformed, "jobs: malformed JSON: not a JSON object"},
		{"trailing object", valid + ` {}`, ErrMalformed, "jobs: malformed JSON: data after the JSON object"},
		{"trailing garbage", valid + `x`, ErrMalformed, "jobs: malformed JSON: data after the JSON object"},
		{"invalid UTF-8", strings.Replace(valid, "hr-bot", "hr-\xff", 1), ErrMalformed, "jobs: malformed JSON: not valid UTF-8"},
		{"unknown version", `{"version":2,"future":{"layout":true}}`, ErrUnsupportedVersion, "jobs: unsupported schema version 2"},
		{"huge version", `{"version":1e999}`, ErrUnsupportedVersion, "jobs: unsupported schema version 1e999"},
		{"version 1.5", doc(set("version", 1.5)), ErrUnsupportedVersion, "jobs: unsupported schema version 1.5"},
		{"missing version", `{"id":"job-1"}`, nil, "jobs: invalid job: version: required"},
		{"mistyped version", `{"version":"1","id":7}`, nil, "jobs: invalid job: version: must be an integer, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.data))
			if !errors.Is(err, ErrInvalidJob) {
				t.Fatalf("Decode = %v, want an error matching ErrInvalidJob", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Decode = %v, want it to match %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("Decode error = %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeSizeLimitIsInclusive(t *testing.T) {
	t.Parallel()
	valid := doc(nil)
	data := valid + strings.Repeat(" ", MaxJobSize-len(valid))
	if _, err := Decode([]byte(data)); err != nil {
		t.Errorf("Decode of exactly MaxJobSize bytes = %v", err)
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	data := `{"version":1,"id":"a..b","action":"purge","user":{"id":"../tokens/me","email":"x"},
		"requested_by":"","dry_run":"yes","priority":null,"ticket":"HR\n1","reason":7,
		"replay_of":"r","replay_of":"r","requested_at":"now","Extra\n.field":1}`
	_, err := Decode([]byte(data))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Decode = %v, want a *ValidationError", err)
	}
	want := []Problem{
		{"user.email", "unknown member"},
		{"requested_by", "must not be empty"},
		{"dry_run", "must be a boolean, not a string"},
		{"priority", "must be a string, not null"},
		{"reason", "must be a string, not a number"},
		{"replay_of", "duplicate member"},
		{"requested_at", "must be an RFC 3339 date-time with an offset, such as 2026-11-27T09:30:00Z"},
		{`"Extra\n.field"`, "unknown member"},
		{"id", "must contain only A-Z a-z 0-9 '-' '_' and single dots between them"},
		{"action", `must be "deactivate", "reactivate", "cleanup", "cancel", "delete" or "verify"`},
		{"user.id", "must be a UUID (8-4-4-4-12 hex digits)"},
		{"ticket", "must not contain control characters or U+FFFD"},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestDecodeBoundsHostileMemberNames(t *testing.T) {
	t.Parallel()
	m := map[string]any{"version": 1}
	for i := range 30 {
		m[strings.Repeat("x", 200)+string(rune('a'+i%26))+strings.Repeat("é", i)] = i
	}
	data, _ := json.Marshal(m)
	_, err := Decode(data)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Decode = %v, want a *ValidationError", err)
	}
	if n := len(ve.Problems); n < 30 {
		t.Errorf("got %d problems, want every unknown member reported", n)
	}
	for _, p := range ve.Problems {
		if len(p.Field) > 80 {
			t.Errorf("field %q is not clipped", p.Field)
		}
	}
	if msg := err.Error(); !strings.HasSuffix(msg, "more") || len(msg) > 2000 {
		t.Errorf("Error() is unbounded: %d bytes: %q", len(msg), msg)
	}
}

// FuzzDecode checks that no input panics, that every error matches ErrInvalidJob, and that an
// accepted job satisfies the JSON Schema and survives re-encoding. Its seeds run in every go test.
func FuzzDecode(f *testing.F) {
	for _, row := range agreementRows() {
		f.Add([]byte(row.doc))
	}
	for _, s := range []string{"", "{", "null", `{"version":1}`, `{"version":1,"user":[]}`, "\xff", `{"version":-0}`,
		`{"version":1,"user":{"id":1,"id":2}}`, `{"version":1,"user":{"user_name":"\ud800@x"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidJob) {
				t.Fatalf("Decode error %v does not match ErrInvalidJob", err)
			}
			return
		}
		if err := j.Validate(); err != nil {
			t.Fatalf("Decode accepted a job Validate rejects: %v", err)
		}
		if err := validateAgainstSchema(t, data); err != nil {
			t.Fatalf("Decode accepted %q, the schema rejects it: %v", data, err)
		}
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		j2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded job %s rejected: %v", b, err)
		}
		if diff := cmp.Diff(j, j2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if b2, _ := json.Marshal(j2); !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not stable: %s then %s", b, b2)
		}
	})
}
