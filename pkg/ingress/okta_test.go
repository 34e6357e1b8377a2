package ingress

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

const oktaSecret = "okta-hook-secret-1"

func newTestOkta(t testing.TB, settings string, secrets ...string) Source {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []string{oktaSecret}
	}
	cfg := SourceConfig{Name: "okta", Kind: KindOkta, SecretFiles: []string{"/run/secrets/okta"}}
	if settings != "" {
		cfg.Settings = json.RawMessage(settings)
	}
	s, err := newOkta(cfg, secrets)
	if err != nil {
		t.Fatalf("newOkta: %v", err)
	}
	return s
}

// oktaSampleConfig is the settings of testdata/okta/okta.config.json.
func oktaSampleConfig(t testing.TB) string {
	t.Helper()
	var cfg SourceConfig
	if err := json.Unmarshal(readTestdata(t, "okta/okta.config.json"), &cfg); err != nil {
		t.Fatal(err)
	}
	return string(cfg.Settings)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oktaDelivery is Okta's sample delivery with its data.events replaced by events.
func oktaDeliveryOf(t testing.TB, events ...json.RawMessage) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(readTestdata(t, "okta/event-hook-delivery.json"), &d); err != nil {
		t.Fatal(err)
	}
	d["data"] = map[string]any{"events": events}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oktaEvent is Okta's sample user.lifecycle.deactivate event edited by edit.
func oktaEvent(t testing.TB, edit func(e map[string]any)) json.RawMessage {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(readTestdata(t, "okta/user-lifecycle-deactivate.json"), &e); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(e)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeOK(t *testing.T, s Source, body []byte) []Event {
	t.Helper()
	evs, err := s.Decode(httptest.NewRequest(http.MethodPost, "/v1/sources/x", nil), body, time.Now())
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return evs
}

func TestOktaAuthenticate(t *testing.T) {
	rotating := newTestOkta(t, "", oktaSecret, "okta-hook-secret-2")
	custom := newTestOkta(t, `{"header":"X-Hook-Key"}`)
	for _, tc := range []struct {
		name    string
		src     Source
		headers map[string][]string
		ok      bool
	}{
		{"the secret", rotating, map[string][]string{"Authorization": {oktaSecret}}, true},
		{"the second secret while rotating", rotating, map[string][]string{"Authorization": {"okta-hook-secret-2"}}, true},
		{"a wrong value", rotating, map[string][]string{"Authorization": {"okta-hook-secret-3"}}, false},
		{"a prefix of the secret", rotating, map[string][]string{"Authorization": {"okta-hook"}}, false},
		{"no header", rotating, nil, false},
		{"the header twice", rotating, map[string][]string{"Authorization": {"x", oktaSecret}}, false},
		{"a configured header", custom, map[string][]string{"X-Hook-Key": {oktaSecret}}, true},
		{"Authorization when another header is configured", custom, map[string][]string{"Authorization": {oktaSecret}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/sources/okta", nil)
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			err := tc.src.Authenticate(r, nil, time.Now())
			if tc.ok != (err == nil) {
				t.Fatalf("Authenticate = %v, want ok %v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrUnauthorized) {
					t.Errorf("error %v does not wrap ErrUnauthorized", err)
				}
				if strings.Contains(err.Error(), oktaSecret) || strings.Contains(err.Error(), "secret-2") {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}

func TestOktaHandshake(t *testing.T) {
	s := newTestOkta(t, "").(Challenger)
	t.Run("verification GET", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/v1/sources/okta", nil)
		r.Header.Set(OktaChallengeHeader, `In4e8Gc6-"x"\y`)
		w := httptest.NewRecorder()
		if !s.Handshake(w, r) {
			t.Fatal("Handshake did not answer the verification GET")
		}
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("answer %d %q, want 200 application/json", w.Code, w.Header().Get("Content-Type"))
		}
		var got map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["verification"] != `In4e8Gc6-"x"\y` {
			t.Fatalf("body %s, want {\"verification\": the challenge}", w.Body)
		}
	})
	for _, tc := range []struct {
		name, method, challenge string
	}{
		{"GET without the challenge", http.MethodGet, ""},
		{"POST with a challenge", http.MethodPost, "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/v1/sources/okta", nil)
			if tc.challenge != "" {
				r.Header.Set(OktaChallengeHeader, tc.challenge)
			}
			w := httptest.NewRecorder()
			if s.Handshake(w, r) {
				t.Fatalf("Handshake answered %s", tc.name)
			}
		})
	}
	t.Run("a challenge too long", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/v1/sources/okta", nil)
		r.Header.Set(OktaChallengeHeader, strings.Repeat("a", maxChallenge+1))
		w := httptest.NewRecorder()
		if !s.Handshake(w, r) || w.Code != http.StatusBadRequest {
			t.Fatalf("answer %d, want 400", w.Code)
		}
	})
}

func TestOktaDecodeSamples(t *testing.T) {
	s := newTestOkta(t, oktaSampleConfig(t))
	t.Run("Okta's sample delivery: a session start, ignored", func(t *testing.T) {
		evs := decodeOK(t, s, readTestdata(t, "okta/event-hook-delivery.json"))
		if len(evs) != 1 || evs[0].Job != nil || evs[0].Err != nil || !strings.Contains(evs[0].Ignored, "user.session.start") {
			t.Fatalf("events %+v, want one ignored user.session.start", evs)
		}
		if evs[0].Ref != "f790999f-fe87-467a-9880-6982a583986c" {
			t.Errorf("ref %q, want the event's uuid", evs[0].Ref)
		}
	})
	t.Run("Okta's sample deactivation", func(t *testing.T) {
		evs := decodeOK(t, s, oktaDeliveryOf(t, oktaEvent(t, nil)))
		if len(evs) != 1 || evs[0].Job == nil {
			t.Fatalf("events %+v, want one job", evs)
		}
		const uuid = "ab62c0bc-2837-11eb-9823-9fb8f750c5a9"
		want := jobs.Job{
			Version:     jobs.Version,
			ID:          JobID("okta", uuid),
			Action:      jobs.ActionDeactivate,
			User:        jobs.UserRef{UserName: "john.doe@example.com"},
			Reason:      "okta user.lifecycle.deactivate " + uuid + " by okta.trainer@okta.com",
			RequestedBy: "ingress:okta",
			Ticket:      uuid,
			Priority:    jobs.PriorityUrgent,
			RequestedAt: time.Date(2020, 11, 16, 18, 15, 12, 862e6, time.UTC),
		}
		if got := *evs[0].Job; got != want {
			t.Fatalf("job\n%+v, want\n%+v", got, want)
		}
		if evs[0].Ref != uuid {
			t.Errorf("ref %q, want %q", evs[0].Ref, uuid)
		}
	})
}

func TestOktaDecodeMapping(t *testing.T) {
	typed := func(typ string) json.RawMessage {
		return oktaEvent(t, func(e map[string]any) { e["eventType"] = typ; e["uuid"] = "uuid-" + typ })
	}
	body := oktaDeliveryOf(t, typed("user.lifecycle.deactivate"), typed("user.lifecycle.suspend"),
		typed("user.lifecycle.reactivate"), typed("user.lifecycle.activate"))

	t.Run("the default mapping", func(t *testing.T) {
		evs := decodeOK(t, newTestOkta(t, ""), body)
		if len(evs) != 4 {
			t.Fatalf("%d events, want 4", len(evs))
		}
		for i, typ := range []string{"user.lifecycle.deactivate", "user.lifecycle.suspend"} {
			if j := evs[i].Job; j == nil || j.Action != jobs.ActionDeactivate || j.Priority != jobs.PriorityNormal {
				t.Errorf("%s: %+v, want a normal deactivation", typ, evs[i])
			}
		}
		for _, ev := range evs[2:] {
			if ev.Job != nil || ev.Ignored == "" {
				t.Errorf("%+v: a reactivation without a mapping must be ignored", ev)
			}
		}
	})
	t.Run("a reactivation cannot be mapped", func(t *testing.T) {
		cfg := SourceConfig{Name: "okta", Kind: KindOkta, Settings: json.RawMessage(`{"events":{"user.lifecycle.reactivate":{"action":"reactivate"}}}`)}
		if _, err := newOkta(cfg, []string{"secret"}); err == nil || !strings.Contains(err.Error(), "operator") {
			t.Fatalf("newOkta with a reactivation: %v, want a refusal naming operators", err)
		}
	})
	t.Run("configured lanes", func(t *testing.T) {
		s := newTestOkta(t, `{"events":{
			"user.lifecycle.deactivate":{"action":"deactivate","priority":"urgent"},
			"user.lifecycle.suspend":{"action":"deactivate"}}}`)
		evs := decodeOK(t, s, body)
		want := []struct {
			action   jobs.Action
			priority jobs.Priority
		}{{jobs.ActionDeactivate, jobs.PriorityUrgent}, {jobs.ActionDeactivate, jobs.PriorityNormal}, {}, {}}
		for i, w := range want {
			if w.action == "" {
				if evs[i].Ignored == "" {
					t.Errorf("event %d: %+v, want ignored (not mapped)", i, evs[i])
				}
				continue
			}
			if j := evs[i].Job; j == nil || j.Action != w.action || j.Priority != w.priority {
				t.Errorf("event %d: %+v, want %s %s", i, evs[i], w.action, w.priority)
			}
		}
	})
	t.Run("the source's priority is the default lane", func(t *testing.T) {
		s, err := newOkta(SourceConfig{Name: "okta", Priority: jobs.PriorityUrgent}, []string{oktaSecret})
		if err != nil {
			t.Fatal(err)
		}
		if evs := decodeOK(t, s, body); evs[1].Job == nil || evs[1].Job.Priority != jobs.PriorityUrgent {
			t.Fatalf("%+v, want urgent", evs[1])
		}
	})
	t.Run("the Okta id as external_id", func(t *testing.T) {
		evs := decodeOK(t, newTestOkta(t, `{"user_attribute":"id"}`), body)
		if j := evs[0].Job; j == nil || j.User != (jobs.UserRef{ExternalID: "00u3m90rxKjGQ0G6L1d6"}) {
			t.Fatalf("%+v, want external_id 00u3m90rxKjGQ0G6L1d6", evs[0])
		}
	})
	t.Run("the login as external_id", func(t *testing.T) {
		evs := decodeOK(t, newTestOkta(t, `{"user_field":"external_id"}`), body)
		if j := evs[0].Job; j == nil || j.User != (jobs.UserRef{ExternalID: "john.doe@example.com"}) {
			t.Fatalf("%+v, want external_id john.doe@example.com", evs[0])
		}
	})
	t.Run("a detailEntry member", func(t *testing.T) {
		ev := oktaEvent(t, func(e map[string]any) {
			e["target"].([]any)[0].(map[string]any)["detailEntry"] = map[string]any{"email": "j.doe@corp.example"}
		})
		evs := decodeOK(t, newTestOkta(t, `{"user_attribute":"detailEntry.email"}`), oktaDeliveryOf(t, ev, typed("user.lifecycle.suspend")))
		if j := evs[0].Job; j == nil || j.User != (jobs.UserRef{UserName: "j.doe@corp.example"}) {
			t.Fatalf("%+v, want user_name j.doe@corp.example", evs[0])
		}
		if evs[1].Err == nil {
			t.Fatalf("%+v: an event without the detailEntry member must be an error", evs[1])
		}
	})
}

func TestOktaDecodeBadEvents(t *testing.T) {
	s := newTestOkta(t, "")
	edit := func(uuid string, f func(e map[string]any)) json.RawMessage {
		return oktaEvent(t, func(e map[string]any) { e["uuid"] = uuid; f(e) })
	}
	body := oktaDeliveryOf(t,
		edit("good", func(map[string]any) {}),
		edit("no-target", func(e map[string]any) { delete(e, "target") }),
		edit("no-user-target", func(e map[string]any) {
			e["target"] = []any{map[string]any{"id": "0oa1", "type": "AppInstance", "alternateId": "app"}}
		}),
		edit("two-users", func(e map[string]any) {
			e["target"] = append(e["target"].([]any), map[string]any{"id": "00uOTHER", "type": "User", "alternateId": "x@example.com"})
		}),
		edit("login-not-email", func(e map[string]any) { e["target"].([]any)[0].(map[string]any)["alternateId"] = "jdoe" }),
		edit("", func(map[string]any) {}),
		edit("failed", func(e map[string]any) { e["outcome"] = map[string]any{"result": "FAILURE"} }),
		json.RawMessage(`"not an object"`),
		edit("good-2", func(e map[string]any) { e["target"].([]any)[0].(map[string]any)["alternateId"] = "jane@example.com" }),
	)
	evs := decodeOK(t, s, body)
	kinds := make([]string, len(evs))
	for i, ev := range evs {
		switch {
		case ev.Job != nil && ev.Err == nil && ev.Ignored == "":
			kinds[i] = "job"
		case ev.Err != nil && ev.Job == nil && ev.Ignored == "":
			kinds[i] = "err"
		case ev.Ignored != "" && ev.Job == nil && ev.Err == nil:
			kinds[i] = "ignored"
		default:
			t.Fatalf("event %d is not exactly one of job, err, ignored: %+v", i, ev)
		}
	}
	want := []string{"job", "err", "err", "err", "err", "err", "ignored", "err", "job"}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v (in the sender's order)", kinds, want)
	}
	if !errors.Is(evs[4].Err, jobs.ErrInvalidJob) {
		t.Errorf("a login that is not an email: %v, want the job rules' ErrInvalidJob", evs[4].Err)
	}
	if evs[8].Job.User.UserName != "jane@example.com" {
		t.Errorf("the last event: %+v", evs[8].Job)
	}
}

func TestOktaDecodeBadBodies(t *testing.T) {
	s := newTestOkta(t, "")
	for name, body := range map[string]string{
		"not JSON":           `{"data":`,
		"no data":            `{"eventType":"com.okta.event_hook"}`,
		"no events":          `{"data":{}}`,
		"events not a list":  `{"data":{"events":{}}}`,
		"two JSON documents": `{"data":{"events":[]}} {}`,
		"an array":           `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			if evs, err := s.Decode(httptest.NewRequest(http.MethodPost, "/", nil), []byte(body), time.Now()); err == nil {
				t.Fatalf("Decode = %+v, nil; want an error", evs)
			}
		})
	}
	if evs := decodeOK(t, s, []byte(`{"data":{"events":[]}}`)); len(evs) != 0 {
		t.Fatalf("an empty delivery: %+v", evs)
	}
}

// TestOktaRedeliverySameID: Okta delivers an event again (a retry, at least once) with the same
// LogEvent uuid, in a delivery with another eventId; the job id is the same. Another event is
// another job.
func TestOktaRedeliverySameID(t *testing.T) {
	s := newTestOkta(t, "")
	first := decodeOK(t, s, oktaDeliveryOf(t, oktaEvent(t, nil)))
	var d map[string]any
	if err := json.Unmarshal(oktaDeliveryOf(t, oktaEvent(t, nil)), &d); err != nil {
		t.Fatal(err)
	}
	d["eventId"] = "a-retry-has-another-delivery-id"
	again, _ := json.Marshal(d)
	second := decodeOK(t, s, again)
	if first[0].Job.ID != second[0].Job.ID {
		t.Fatalf("redelivery: %s then %s", first[0].Job.ID, second[0].Job.ID)
	}
	other := decodeOK(t, s, oktaDeliveryOf(t, oktaEvent(t, func(e map[string]any) { e["uuid"] = "another-event" })))
	if other[0].Job.ID == first[0].Job.ID {
		t.Fatal("another event has the same job id")
	}
	otherSource, err := newOkta(SourceConfig{Name: "okta-2"}, []string{oktaSecret})
	if err != nil {
		t.Fatal(err)
	}
	if decodeOK(t, otherSource, oktaDeliveryOf(t, oktaEvent(t, nil)))[0].Job.ID == first[0].Job.ID {
		t.Fatal("two sources made the same job id")
	}
}

func TestNewOktaRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		settings string
		secrets  []string
	}{
		"no secret":                  {"", nil},
		"an empty secret":            {"", []string{""}},
		"an unknown member":          {`{"headers":"X"}`, []string{"s"}},
		"a bad header name":          {`{"header":"Bad Header"}`, []string{"s"}},
		"an Okta id as user_name":    {`{"user_attribute":"id","user_field":"user_name"}`, []string{"s"}},
		"an unknown attribute":       {`{"user_attribute":"login"}`, []string{"s"}},
		"an unknown field":           {`{"user_field":"id"}`, []string{"s"}},
		"an action other than these": {`{"events":{"user.lifecycle.delete.initiated":{"action":"delete"}}}`, []string{"s"}},
		"a bad priority":             {`{"events":{"user.lifecycle.deactivate":{"action":"deactivate","priority":"high"}}}`, []string{"s"}},
		"an empty mapping":           {`{"events":{}}`, []string{"s"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := SourceConfig{Name: "okta", Settings: json.RawMessage(tc.settings)}
			if _, err := newOkta(cfg, tc.secrets); err == nil {
				t.Fatal("newOkta accepted it")
			} else if len(tc.secrets) > 0 && tc.secrets[0] != "" && strings.Contains(err.Error(), `"s"`) {
				t.Errorf("error %q", err)
			}
		})
	}
}

// TestOktaExampleWorks runs dev mode's line through a shell whose curl prints its arguments:
// the GET is a verification the source answers, the POST authenticates and decodes to a job.
func TestOktaExampleWorks(t *testing.T) {
	s := newTestOkta(t, "", "dev-okta-fixture 'quoted'")
	line := s.(Exampler).Example("http://127.0.0.1:8090/", time.Unix(1_800_000_000, 0))
	calls := runExample(t, line)
	if len(calls) != 2 {
		t.Fatalf("%d curl calls, want 2:\n%s", len(calls), line)
	}
	get, post := calls[0], calls[1]
	if get.method != http.MethodGet || get.url != "http://127.0.0.1:8090/v1/sources/okta" || post.method != http.MethodPost {
		t.Fatalf("calls %+v", calls)
	}
	r := get.request()
	if err := s.Authenticate(r, nil, time.Now()); err != nil {
		t.Fatalf("the GET: %v", err)
	}
	w := httptest.NewRecorder()
	if !s.(Challenger).Handshake(w, r) || w.Code != http.StatusOK {
		t.Fatalf("the GET is not a verification: %d", w.Code)
	}
	if err := s.Authenticate(post.request(), []byte(post.body), time.Now()); err != nil {
		t.Fatalf("the POST: %v", err)
	}
	evs := decodeOK(t, s, []byte(post.body))
	if len(evs) != 1 || evs[0].Job == nil || evs[0].Job.User.UserName != "noor.dubois.22@example.com" {
		t.Fatalf("events %+v", evs)
	}
}

// curlCall is what a curl command line of an example would send.
type curlCall struct {
	method, url, body string
	headers           [][2]string
}

func (c curlCall) request() *http.Request {
	r := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
	for _, h := range c.headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

// runExample runs an example line through sh with curl replaced by a function printing its
// arguments, and parses each call.
func runExample(t *testing.T, line string) []curlCall {
	t.Helper()
	for _, tool := range []string{"sh", "openssl", "od", "base64", "tr", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: the example needs it", tool)
		}
	}
	out, err := exec.Command("sh", "-c", `curl() { printf 'CURL\n'; printf '%s\n' "$@"; }; echo() { :; }; `+line).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	var calls []curlCall
	args := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "CURL" {
			calls = append(calls, curlCall{method: http.MethodGet})
			continue
		}
		c := &calls[len(calls)-1]
		switch a {
		case "-sS":
		case "-X":
			i++
			c.method = args[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(args[i], ":")
			c.headers = append(c.headers, [2]string{k, strings.TrimPrefix(v, " ")})
		case "--data-binary":
			i++
			c.body = args[i]
		default:
			c.url = a
		}
	}
	return calls
}

func TestOktaExample(t *testing.T) {
	ex := newTestOkta(t, "").(Exampler).Example("http://127.0.0.1:8090/", time.Unix(1_800_000_000, 0))
	for _, want := range []string{
		"curl ", OktaChallengeHeader, "http://127.0.0.1:8090/v1/sources/okta'", "'Authorization: " + oktaSecret + "'",
		"-X POST", "user.lifecycle.deactivate", "noor.dubois.22@example.com",
	} {
		if !strings.Contains(ex, want) {
			t.Errorf("example lacks %q:\n%s", want, ex)
		}
	}
	if strings.Contains(ex, "\n") {
		t.Errorf("the example is not one line:\n%s", ex)
	}
}

// TestOktaUserTargetsMustAgree: two User targets with the same (or no) id but different logins
// are not one user: the event is rejected rather than the first login deactivated.
func TestOktaUserTargetsMustAgree(t *testing.T) {
	s := newTestOkta(t, "")
	for name, ids := range map[string][2]string{"no ids": {"", ""}, "same id": {"00uSAME", "00uSAME"}} {
		body := oktaDeliveryOf(t, oktaEvent(t, func(e map[string]any) {
			e["target"] = []any{
				map[string]any{"id": ids[0], "type": "User", "alternateId": "victim@example.com"},
				map[string]any{"id": ids[1], "type": "User", "alternateId": "leaver@example.com"},
			}
		}))
		evs := decodeOK(t, s, body)
		if len(evs) != 1 || evs[0].Job != nil || evs[0].Err == nil {
			t.Errorf("%s: two User targets with different logins: %+v, want rejected", name, evs)
		}
	}
	body := oktaDeliveryOf(t, oktaEvent(t, func(e map[string]any) {
		u := map[string]any{"id": "00uSAME", "type": "User", "alternateId": "leaver@example.com"}
		e["target"] = []any{u, u}
	}))
	if evs := decodeOK(t, s, body); len(evs) != 1 || evs[0].Job == nil || evs[0].Job.User.UserName != "leaver@example.com" {
		t.Errorf("the same User target twice: %+v, want its job", evs)
	}
}

// TestOktaActorCannotBlockTheTarget: the actor (the admin who acted) is only text in the reason:
// an invisible character in the actor's login is quoted there, and the target is still the one
// deactivated.
func TestOktaActorCannotBlockTheTarget(t *testing.T) {
	s := newTestOkta(t, "")
	body := oktaDeliveryOf(t, oktaEvent(t, func(e map[string]any) {
		e["actor"] = map[string]any{"id": "00uADMIN", "type": "User", "alternateId": "adm\u202Eni@example.com"}
		e["target"].([]any)[0].(map[string]any)["alternateId"] = "leaver@example.com"
	}))
	evs := decodeOK(t, s, body)
	if len(evs) != 1 || evs[0].Job == nil {
		t.Fatalf("%+v: want the target's job", evs)
	}
	if j := evs[0].Job; j.User.UserName != "leaver@example.com" || strings.ContainsRune(j.Reason, '\u202E') || !strings.Contains(j.Reason, `adm\u202eni@example.com`) {
		t.Errorf("job %+v", j)
	}
}
