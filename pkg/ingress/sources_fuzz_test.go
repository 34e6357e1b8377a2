package ingress

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// checkEvents fails unless every event is exactly one of a job, an ignored event and an error,
// and every job passes the job rules and names the source.
func checkEvents(t *testing.T, source string, evs []Event) {
	t.Helper()
	for i, ev := range evs {
		n := 0
		if ev.Job != nil {
			n++
			if err := ev.Job.Validate(); err != nil {
				t.Fatalf("event %d: job %+v fails the job rules: %v", i, ev.Job, err)
			}
			if ev.Job.RequestedBy != RequestedBy(source) {
				t.Fatalf("event %d: requested_by %q", i, ev.Job.RequestedBy)
			}
		}
		if ev.Ignored != "" {
			n++
		}
		if ev.Err != nil {
			n++
		}
		if n != 1 {
			t.Fatalf("event %d is not exactly one of job, ignored, error: %+v", i, ev)
		}
		if len(ev.Ref) > 128 {
			t.Fatalf("event %d: ref of %d bytes", i, len(ev.Ref))
		}
	}
}

func FuzzOktaDecode(f *testing.F) {
	f.Add(readTestdata(f, "okta/event-hook-delivery.json"))
	f.Add(oktaDeliveryOf(f, oktaEvent(f, nil)))
	f.Add(oktaDeliveryOf(f, oktaEvent(f, func(e map[string]any) { e["eventType"] = "user.lifecycle.suspend"; e["target"] = []any{} })))
	f.Add([]byte(`{"data":{"events":[{"uuid":"u","eventType":"user.lifecycle.deactivate","target":[{"type":"User","alternateId":"a@b"}]}]}}`))
	f.Add([]byte(`{"data":{"events":[null,1,"x",{}]}}`))
	sources := []Source{
		newTestOkta(f, ""),
		newTestOkta(f, `{"user_attribute":"id","events":{"user.lifecycle.deactivate":{"action":"deactivate"},"user.lifecycle.suspend":{"action":"deactivate","priority":"urgent"}}}`),
		newTestOkta(f, `{"user_attribute":"detailEntry.email"}`),
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, s := range sources {
			evs, err := s.Decode(httptest.NewRequest(http.MethodPost, "/", nil), body, time.Unix(1_800_000_000, 0))
			if err != nil {
				if evs != nil {
					t.Fatalf("events %+v with error %v", evs, err)
				}
				continue
			}
			checkEvents(t, "okta", evs)
		}
	})
}

func FuzzHRDecode(f *testing.F) {
	for _, name := range []string{"hr/bamboohr.json", "hr/bamboohr-termination.json", "hr/hibob.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"employees":[{"id":"1","timestamp":"t","fields":{"Employment Status":"Terminated","Work Email":"a@b","Employment Status: Date":"2027-02-30"}}]}`))
	f.Add([]byte(`{"employees":[{"id":1.5e300,"timestamp":true,"fields":{"Employment Status":"Terminated","Work Email":" a@b ","Employment Status: Date":"9999-12-31T23:59:59-23:59"}}]}`))
	bamboo := hrConfig(f, "hr/bamboohr.config.json", nil)
	bob := hrConfig(f, "hr/hibob.config.json", nil)
	sources := map[string]Source{"bamboohr": newTestHR(f, bamboo), "hibob": newTestHR(f, bob)}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, s := range sources {
			evs, err := s.Decode(httptest.NewRequest(http.MethodPost, "/", nil), body, time.Unix(1_800_000_000, 0))
			if err != nil {
				if evs != nil {
					t.Fatalf("events %+v with error %v", evs, err)
				}
				continue
			}
			checkEvents(t, name, evs)
			for _, ev := range evs {
				if ev.Job != nil {
					if _, err := json.Marshal(ev.Job); err != nil {
						t.Fatalf("job does not marshal: %v", err)
					}
				}
			}
		}
	})
}

// BenchmarkOktaDecode decodes Okta's sample deactivation delivery (authentication included).
func BenchmarkOktaDecode(b *testing.B) {
	s := newTestOkta(b, "")
	body := oktaDeliveryOf(b, oktaEvent(b, nil))
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", oktaSecret)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Authenticate(r, body, time.Now()); err != nil {
			b.Fatal(err)
		}
		if evs, err := s.Decode(r, body, time.Now()); err != nil || evs[0].Job == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHRDecode checks the BambooHR signature of the termination sample and decodes it.
func BenchmarkHRDecode(b *testing.B) {
	s := newTestHR(b, hrConfig(b, "hr/bamboohr.config.json", nil))
	body := readTestdata(b, "hr/bamboohr-termination.json")
	now := time.Now()
	r := bambooRequest(hrKey, body, strconv.FormatInt(now.Unix(), 10))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Authenticate(r, body, now); err != nil {
			b.Fatal(err)
		}
		if evs, err := s.Decode(r, body, now); err != nil || evs[0].Job == nil {
			b.Fatal(err)
		}
	}
}
