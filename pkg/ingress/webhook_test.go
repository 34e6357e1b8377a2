package ingress

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func FuzzWebhookDecode(f *testing.F) {
	f.Add("application/json", `{"action":"deactivate","user":{"user_name":"a@b.example"},"requested_by":"x"}`)
	f.Add("application/x-ndjson", "{\"action\":\"deactivate\",\"user\":{\"id\":\"0B5C2A9E-1111-4222-8333-944455556666\"}}\n\n{\"action\":\"reactivate\",\"user\":{\"external_id\":\"e1\"},\"force\":true}\n")
	f.Add("", `{"action":"deactivate","user":{"user_name":"a@b.example"},"id":"x","id":"y","version":1,"version":2}`)
	f.Add("text/plain", "{\"action\":\"cancel\",\"user\":{\"user_name\":\"a@b.example\"},\"not_before\":\"2030-01-01T00:00:00Z\"}\r\n[1,2]\n\"s\"")
	f.Add("application/json", `{"action":"deactivate","user":{"user_name":"a@b.example"},"requested_by":7}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		events, err := DecodeWebhookBody("fuzz", jobs.PriorityUrgent, "msg_1", contentType, []byte(body))
		if err != nil {
			if events != nil {
				t.Fatal("events with an error")
			}
			return
		}
		if len(events) == 0 {
			t.Fatal("no events and no error")
		}
		for _, ev := range events {
			if len(ev.Ref) > 128 || !strings.HasPrefix(ev.Ref, "msg_1#") {
				t.Fatalf("ref %q", ev.Ref)
			}
			if (ev.Job == nil) == (ev.Err == nil) {
				t.Fatalf("event %s: job %v, err %v", ev.Ref, ev.Job, ev.Err)
			}
			if ev.Err != nil {
				if !errors.Is(ev.Err, jobs.ErrInvalidJob) {
					t.Fatalf("event %s: error %v does not match ErrInvalidJob", ev.Ref, ev.Err)
				}
				continue
			}
			if err := ev.Job.Validate(); err != nil {
				t.Fatalf("event %s: decoded job fails Validate: %v", ev.Ref, err)
			}
			if ev.Job.ID != JobID("fuzz", ev.Ref) || !strings.HasPrefix(ev.Job.RequestedBy, "ingress:fuzz") {
				t.Fatalf("event %s: id %s requested_by %q", ev.Ref, ev.Job.ID, ev.Job.RequestedBy)
			}
		}
	})
}

func TestWebhookDecodeRules(t *testing.T) {
	t.Parallel()
	pretty := "{\n  \"action\": \"deactivate\",\n  \"user\": {\"user_name\": \"a@b.example\"},\n  \"id\": \"their-own\",\n  \"requested_by\": \"jira\"\n}\n"
	events, err := DecodeWebhookBody("soar", "", "m1", "application/json", []byte(pretty))
	if err != nil || len(events) != 1 || events[0].Err != nil {
		t.Fatalf("a pretty-printed object: %v %+v", err, events)
	}
	j := events[0].Job
	if j.ID != JobID("soar", "m1#1") || j.RequestedBy != "ingress:soar for jira" || j.Priority != jobs.PriorityNormal || j.Version != jobs.Version {
		t.Errorf("job %+v", j)
	}
	// the same object as JSON lines is one line per line: malformed each
	events, err = DecodeWebhookBody("soar", "", "m1", "application/x-ndjson", []byte(pretty))
	if err != nil || len(events) != 6 || events[0].Err == nil {
		t.Fatalf("pretty object as ndjson: %v %d events", err, len(events))
	}
	// a sender's version must be ours
	events, _ = DecodeWebhookBody("soar", "", "m1", "", []byte(`{"version":2,"action":"deactivate","user":{"user_name":"a@b.example"}}`))
	if !errors.Is(events[0].Err, jobs.ErrUnsupportedVersion) {
		t.Errorf("version 2: %v", events[0].Err)
	}
	// a duplicate member is refused, as by every worker
	events, _ = DecodeWebhookBody("soar", "", "m1", "", []byte(`{"action":"deactivate","user":{"user_name":"a@b.example"},"user":{"user_name":"c@d.example"}}`))
	if events[0].Err == nil || !strings.Contains(events[0].Err.Error(), "duplicate member") {
		t.Errorf("duplicate user: %v", events[0].Err)
	}
}

// TestWebhookExampleWorks runs the dev-mode curl line's signing part through a shell with
// openssl and checks the signature it makes verifies.
func TestWebhookExampleWorks(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "openssl", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: the example needs it", tool)
		}
	}
	secret := audit.SecretPrefix + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	src, err := newWebhook(SourceConfig{Name: "soar", Kind: KindWebhook}, []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	line := src.(Exampler).Example("http://127.0.0.1:8088", time.Now())
	// replace curl with a printer of what it would send
	script := strings.Replace(line, "curl -sS", "printf '%s\\n' \"$id\" \"$ts\" \"$sig\" \"$body\" #", 1)
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, script)
	}
	parts := strings.SplitN(strings.TrimSuffix(string(out), "\n"), "\n", 4)
	if len(parts) != 4 {
		t.Fatalf("output %q", out)
	}
	h := map[string][]string{"Webhook-Id": {parts[0]}, "Webhook-Timestamp": {parts[1]}, "Webhook-Signature": {"v1," + parts[2]}}
	if err := audit.Verify(secret, h, []byte(parts[3]), time.Now(), 0); err != nil {
		t.Fatalf("the example's signature does not verify: %v\n%s", err, line)
	}
	if !strings.Contains(line, "http://127.0.0.1:8088/v1/sources/soar") {
		t.Errorf("example %s", line)
	}
	events, err := DecodeWebhookBody("soar", "", parts[0], "application/json", []byte(parts[3]))
	if err != nil || events[0].Err != nil {
		t.Fatalf("the example's body is not a valid job: %v %v", err, events)
	}
}

// TestWebhookRefusesOperatorOnlyFields: a signed sender may deactivate, cancel, verify and
// dry-run, but never reactivate (operators alone), reach the delete or cleanup lanes, or link
// its job to another with replay_of, cleanup_of or delete_of.
func TestWebhookRefusesOperatorOnlyFields(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		`{"action":"delete","user":{"user_name":"a@b.example"}}`,
		`{"action":"reactivate","force":true,"user":{"user_name":"a@b.example"}}`,
		`{"action":"reactivate","user":{"user_name":"a@b.example"}}`,
		`{"action":"deactivate","replay_of":"dead-1","user":{"user_name":"a@b.example"}}`,
		`{"action":"cleanup","cleanup_of":"x1","user":{"user_name":"a@b.example"}}`,
		`{"action":"delete","delete_of":"x1","user":{"user_name":"a@b.example"}}`,
	} {
		events, err := DecodeWebhookBody("soar", "", "m1", "application/json", []byte(line))
		if err != nil || len(events) != 1 || events[0].Job != nil || !errors.Is(events[0].Err, jobs.ErrInvalidJob) {
			t.Errorf("%s: err %v, events %+v: want one rejected event", line, err, events)
		}
	}
	for _, line := range []string{
		`{"action":"deactivate","dry_run":true,"user":{"user_name":"a@b.example"}}`,
		`{"action":"cancel","user":{"user_name":"a@b.example"}}`,
	} {
		events, err := DecodeWebhookBody("soar", "", "m1", "application/json", []byte(line))
		if err != nil || len(events) != 1 || events[0].Err != nil {
			t.Errorf("%s: err %v, events %+v: want a job", line, err, events)
		}
	}
}
