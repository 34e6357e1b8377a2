package ingress

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

const hrKey = "bamboo-private-key-1"

// hrConfig is a testdata config with its settings edited by edit (nil: as written).
func hrConfig(t testing.TB, file string, edit func(st map[string]any)) SourceConfig {
	t.Helper()
	var cfg SourceConfig
	if err := json.Unmarshal(readTestdata(t, file), &cfg); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var st map[string]any
		if err := json.Unmarshal(cfg.Settings, &st); err != nil {
			t.Fatal(err)
		}
		edit(st)
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Settings = b
	}
	return cfg
}

func newTestHR(t testing.TB, cfg SourceConfig, secrets ...string) *hrSource {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []string{hrKey}
	}
	s, err := newHR(cfg, secrets)
	if err != nil {
		t.Fatalf("newHR: %v", err)
	}
	return s.(*hrSource)
}

// bambooRequest is a request signed as BambooHR signs: HMAC-SHA256(key, body + timestamp), hex.
func bambooRequest(key string, body []byte, ts string) *http.Request {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	m.Write([]byte(ts))
	r := httptest.NewRequest(http.MethodPost, "/v1/sources/bamboohr", strings.NewReader(string(body)))
	r.Header.Set("X-BambooHR-Signature", hex.EncodeToString(m.Sum(nil)))
	r.Header.Set("X-BambooHR-Timestamp", ts)
	return r
}

// bobRequest is a request signed as HiBob signs: base64 of HMAC-SHA512(key, body).
func bobRequest(key string, body []byte) *http.Request {
	m := hmac.New(sha512.New, []byte(key))
	m.Write(body)
	r := httptest.NewRequest(http.MethodPost, "/v1/sources/hibob", strings.NewReader(string(body)))
	r.Header.Set("Bob-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return r
}

func TestHRAuthenticateBambooHR(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/bamboohr.config.json", nil), hrKey, "bamboo-private-key-2")
	body := readTestdata(t, "hr/bamboohr-termination.json")
	now := time.Unix(1_800_000_000, 0)
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		ok   bool
	}{
		{"signed with the key", func() *http.Request { return bambooRequest(hrKey, body, unix(0)) }, true},
		{"signed with the second key while rotating", func() *http.Request { return bambooRequest("bamboo-private-key-2", body, unix(0)) }, true},
		{"an RFC 3339 timestamp", func() *http.Request {
			return bambooRequest(hrKey, body, now.UTC().Format(time.RFC3339))
		}, true},
		{"4 minutes old", func() *http.Request { return bambooRequest(hrKey, body, unix(-4*time.Minute)) }, true},
		{"6 minutes old", func() *http.Request { return bambooRequest(hrKey, body, unix(-6*time.Minute)) }, false},
		{"6 minutes ahead", func() *http.Request { return bambooRequest(hrKey, body, unix(6*time.Minute)) }, false},
		{"another key", func() *http.Request { return bambooRequest("not-the-key", body, unix(0)) }, false},
		{"the timestamp changed", func() *http.Request {
			r := bambooRequest(hrKey, body, unix(0))
			r.Header.Set("X-BambooHR-Timestamp", unix(time.Second)) // the signature covered the other timestamp
			return r
		}, false},
		{"no timestamp", func() *http.Request {
			r := bambooRequest(hrKey, body, unix(0))
			r.Header.Del("X-BambooHR-Timestamp")
			return r
		}, false},
		{"no signature", func() *http.Request {
			r := bambooRequest(hrKey, body, unix(0))
			r.Header.Del("X-BambooHR-Signature")
			return r
		}, false},
		{"a signature that is not hex", func() *http.Request {
			r := bambooRequest(hrKey, body, unix(0))
			r.Header.Set("X-BambooHR-Signature", "zz")
			return r
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Authenticate(tc.req(), body, now)
			if tc.ok != (err == nil) {
				t.Fatalf("Authenticate = %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "bamboo-private-key")) {
				t.Fatalf("error %q: must wrap ErrUnauthorized and show no secret", err)
			}
		})
	}
	t.Run("a tampered body", func(t *testing.T) {
		r := bambooRequest(hrKey, body, unix(0))
		tampered := []byte(strings.Replace(string(body), "bryony.leaver", "someone.else", 1))
		if err := s.Authenticate(r, tampered, now); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Authenticate = %v, want ErrUnauthorized", err)
		}
	})
}

func TestHRAuthenticateHiBob(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/hibob.config.json", nil))
	body := readTestdata(t, "hr/hibob.json")
	if err := s.Authenticate(bobRequest(hrKey, body), body, time.Now()); err != nil {
		t.Fatalf("a HiBob signature: %v", err)
	}
	if err := s.Authenticate(bobRequest("other", body), body, time.Now()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("another key: %v", err)
	}
	r := bobRequest(hrKey, body)
	sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("Bob-Signature"))
	r.Header.Set("Bob-Signature", hex.EncodeToString(sig))
	if err := s.Authenticate(r, body, time.Now()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("the right MAC in hex where base64 is configured: %v", err)
	}
}

func TestHRAuthenticateTimestampDotBody(t *testing.T) {
	cfg := SourceConfig{Name: "hr", Settings: json.RawMessage(`{
		"signature":{"header":"X-Signature","prefix":"sha256=","signed":"timestamp.body","timestamp_header":"X-Timestamp","tolerance":"30s"},
		"actions":[{"field":"event","values":["terminated"]}],"user":{"path":"email"},"ref":["id"]}`)}
	s := newTestHR(t, cfg)
	body := []byte(`{"event":"terminated","email":"a@example.com","id":"7"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(hrKey))
	m.Write([]byte(ts + "."))
	m.Write(body)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("X-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	r.Header.Set("X-Timestamp", ts)
	if err := s.Authenticate(r, body, now); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if err := s.Authenticate(r, body, now.Add(31*time.Second)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("past the 30s tolerance: %v", err)
	}
}

func TestHRDecodeBambooHR(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/bamboohr.config.json", nil))
	t.Run("BambooHR's sample: a first name change, ignored", func(t *testing.T) {
		evs := decodeOK(t, s, readTestdata(t, "hr/bamboohr.json"))
		if len(evs) != 1 || evs[0].Ignored == "" || evs[0].Job != nil || evs[0].Err != nil {
			t.Fatalf("events %+v, want one ignored", evs)
		}
		if evs[0].Ref != "12345/2026-01-31T18:42:00+0000" {
			t.Errorf("ref %q", evs[0].Ref)
		}
	})
	t.Run("a termination", func(t *testing.T) {
		evs := decodeOK(t, s, readTestdata(t, "hr/bamboohr-termination.json"))
		if len(evs) != 2 || evs[0].Job == nil || evs[1].Ignored == "" {
			t.Fatalf("events %+v, want a job then an ignored change", evs)
		}
		denver, err := time.LoadLocation("America/Denver")
		if err != nil {
			t.Fatal(err)
		}
		ref := "12345/2026-12-07T09:30:00+0000"
		want := jobs.Job{
			Version:     jobs.Version,
			ID:          JobID("bamboohr", ref),
			Action:      jobs.ActionDeactivate,
			User:        jobs.UserRef{UserName: "bryony.leaver@example.com"},
			Reason:      `hr bamboohr: fields["Employment Status"] Terminated (` + ref + ")",
			RequestedBy: "ingress:bamboohr",
			Priority:    jobs.PriorityNormal,
			NotBefore:   time.Date(2027, 1, 15, 23, 59, 0, 0, denver),
		}
		got := *evs[0].Job
		if !got.NotBefore.Equal(want.NotBefore) {
			t.Errorf("not_before %s, want %s", got.NotBefore, want.NotBefore)
		}
		got.NotBefore = want.NotBefore
		if got != want {
			t.Fatalf("job\n%+v, want\n%+v", got, want)
		}
		if got.NotBefore.UTC() != time.Date(2027, 1, 16, 6, 59, 0, 0, time.UTC) {
			t.Errorf("not_before in UTC %s, want 2027-01-16T06:59Z (23:59 in Denver, MST)", got.NotBefore.UTC())
		}
	})
}

func TestHRDecodeHiBob(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/hibob.config.json", nil))
	evs := decodeOK(t, s, readTestdata(t, "hr/hibob.json"))
	if len(evs) != 1 || evs[0].Job == nil {
		t.Fatalf("events %+v, want one job", evs)
	}
	j := evs[0].Job
	if j.User != (jobs.UserRef{ExternalID: "3332883854254932743"}) || j.Priority != jobs.PriorityUrgent ||
		!j.NotBefore.IsZero() || j.ID != JobID("hibob", "3332883854254932743/employee.left/2025-01-08T13:06:26.915906") {
		t.Fatalf("job %+v", j)
	}
	var other map[string]any
	if err := json.Unmarshal(readTestdata(t, "hr/hibob.json"), &other); err != nil {
		t.Fatal(err)
	}
	other["type"] = "employee.updated"
	b, _ := json.Marshal(other)
	if evs := decodeOK(t, s, b); evs[0].Ignored == "" {
		t.Fatalf("employee.updated: %+v, want ignored", evs[0])
	}
}

// TestHRDates: a date without a time is the configured time of day in the configured zone
// (default 23:59 UTC); a time with an offset is that moment; none runs now; a date in the past
// is kept (the Publisher runs it now).
func TestHRDates(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, date string
		settings   map[string]any
		want       time.Time
		bad        bool
	}{
		{"a date, the defaults", `"2027-03-31"`, nil, time.Date(2027, 3, 31, 23, 59, 0, 0, time.UTC), false},
		{"a date in Berlin at 17:30 (summer time)", `"2027-03-31"`, map[string]any{"time_zone": "Europe/Berlin", "time_of_day": "17:30"},
			time.Date(2027, 3, 31, 17, 30, 0, 0, berlin), false},
		{"a date in Berlin (winter time)", `"2027-01-15"`, map[string]any{"time_zone": "Europe/Berlin"},
			time.Date(2027, 1, 15, 22, 59, 0, 0, time.UTC), false},
		{"a moment with an offset", `"2027-01-15T12:00:00+01:00"`, map[string]any{"time_zone": "America/Denver"},
			time.Date(2027, 1, 15, 11, 0, 0, 0, time.UTC), false},
		{"BambooHR's +0000 offset", `"2027-01-15T12:00:00+0000"`, nil, time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC), false},
		{"a local time without offset", `"2027-01-15T18:00:00"`, map[string]any{"time_zone": "Europe/Berlin"},
			time.Date(2027, 1, 15, 18, 0, 0, 0, berlin), false},
		{"a date in the past", `"2020-02-29"`, nil, time.Date(2020, 2, 29, 23, 59, 0, 0, time.UTC), false},
		{"empty", `""`, nil, time.Time{}, false},
		{"BambooHR's empty date", `"0000-00-00"`, nil, time.Time{}, false},
		{"null", `null`, nil, time.Time{}, false},
		{"absent", ``, nil, time.Time{}, false},
		{"a day-first date", `"15/01/2027"`, nil, time.Time{}, true},
		{"a number", `20270115`, nil, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := SourceConfig{Name: "hr"}
			st := map[string]any{
				"signature": map[string]any{"header": "X-Sig"}, "events": "employees",
				"actions":          []any{map[string]any{"field": "status", "values": []string{"Terminated"}}},
				"user":             map[string]any{"path": "email"},
				"ref":              []string{"id"},
				"termination_date": "lastDay",
			}
			for k, v := range tc.settings {
				st[k] = v
			}
			cfg.Settings, _ = json.Marshal(st)
			s := newTestHR(t, cfg)
			date := ""
			if tc.date != "" {
				date = `,"lastDay":` + tc.date
			}
			evs := decodeOK(t, s, []byte(`{"employees":[{"id":"1","status":"Terminated","email":"a@example.com"`+date+`}]}`))
			if tc.bad {
				if evs[0].Err == nil {
					t.Fatalf("%+v, want an error", evs[0])
				}
				return
			}
			if evs[0].Job == nil {
				t.Fatalf("%+v, want a job", evs[0])
			}
			if got := evs[0].Job.NotBefore; !got.Equal(tc.want) {
				t.Fatalf("not_before %s, want %s", got, tc.want)
			}
		})
	}
}

// TestHRRedeliverySameID: the same change delivered again is the same job; a new termination
// of the same employee (another change timestamp) is a new one.
func TestHRRedeliverySameID(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/bamboohr.config.json", nil))
	body := readTestdata(t, "hr/bamboohr-termination.json")
	a, b := decodeOK(t, s, body), decodeOK(t, s, body)
	if a[0].Job.ID != b[0].Job.ID {
		t.Fatalf("redelivery: %s then %s", a[0].Job.ID, b[0].Job.ID)
	}
	later := decodeOK(t, s, []byte(strings.Replace(string(body), "2026-12-07T09:30:00+0000", "2027-06-01T10:00:00+0000", 1)))
	if later[0].Job.ID == a[0].Job.ID {
		t.Fatal("a new termination has the old job id")
	}
}

func TestHRDecodeBadEvents(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/bamboohr.config.json", func(st map[string]any) {
		st["actions"] = []any{
			map[string]any{"field": `fields["Employment Status"]`, "values": []string{"terminated"}, "ignore_case": true},
			map[string]any{"field": `fields["Employment Status"]`, "values": []string{"Rehired"}, "action": "deactivate", "priority": "urgent"},
		}
	}))
	body := `{"employees":[
		{"id":"1","timestamp":"t1","fields":{"Employment Status":"TERMINATED","Work Email":"one@example.com"}},
		{"id":"2","timestamp":"t2","fields":{"Employment Status":"Terminated"}},
		{"id":"3","timestamp":"t3","fields":{"Employment Status":"Terminated","Work Email":"not an email"}},
		{"timestamp":"t4","fields":{"Employment Status":"Terminated","Work Email":"four@example.com"}},
		{"id":"5","timestamp":"t5","fields":{"Employment Status":"Rehired","Work Email":"five@example.com"}},
		{"id":"6","timestamp":"t6","fields":{"Employment Status":"Full-Time","Work Email":"six@example.com"}},
		{"id":"7","timestamp":"t7","fields":{"Employment Status":{"value":"Terminated"},"Work Email":"seven@example.com"}},
		"not an object",
		{"id":"9","timestamp":"t9","fields":{"Employment Status":"Terminated","Work Email":["nine@example.com"]}}
	]}`
	evs := decodeOK(t, s, []byte(body))
	var kinds []string
	for _, ev := range evs {
		switch {
		case ev.Job != nil:
			kinds = append(kinds, string(ev.Job.Action))
		case ev.Err != nil:
			kinds = append(kinds, "err")
		default:
			kinds = append(kinds, "ignored")
		}
	}
	want := "deactivate err err err deactivate ignored ignored err err"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	if !errors.Is(evs[2].Err, jobs.ErrInvalidJob) {
		t.Errorf("not an email: %v, want ErrInvalidJob", evs[2].Err)
	}
	if evs[4].Job.Priority != jobs.PriorityUrgent {
		t.Errorf("the second rule's lane: %s", evs[4].Job.Priority)
	}
}

// An HR source cannot map an event to a reactivation: operators alone publish those (review D4), and
// the ingress's NATS role may not.
func TestHRRefusesAReactivationRule(t *testing.T) {
	cfg := hrConfig(t, "hr/bamboohr.config.json", func(st map[string]any) {
		st["actions"] = []any{map[string]any{"field": `fields["Employment Status"]`, "values": []string{"Rehired"}, "action": "reactivate"}}
	})
	if _, err := newHR(cfg, []string{"k"}); err == nil || !strings.Contains(err.Error(), "operator") {
		t.Fatalf("newHR with a reactivation rule: %v, want a refusal naming operators", err)
	}
}

// TestHRTicketAndLongRefs: the ticket path fills the job's ticket; a ref longer than an event
// reference may be still makes a job (its reason carries the clipped ref, its id the whole one).
func TestHRTicketAndLongRefs(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/bamboohr.config.json", func(st map[string]any) { st["ticket"] = `fields["Case"]` }))
	long := strings.Repeat("x", 2000)
	body := `{"employees":[
		{"id":"1","timestamp":"t1","fields":{"Employment Status":"Terminated","Work Email":"one@example.com","Case":"HR-2207"}},
		{"id":"` + long + `","timestamp":"t2","fields":{"Employment Status":"Terminated","Work Email":"two@example.com"}}]}`
	evs := decodeOK(t, s, []byte(body))
	if evs[0].Job == nil || evs[0].Job.Ticket != "HR-2207" {
		t.Fatalf("%+v, want ticket HR-2207", evs[0])
	}
	if evs[1].Job == nil || evs[1].Job.Ticket != "" || len(evs[1].Ref) != 128 || evs[1].Job.ID != JobID("bamboohr", long+"/t2") {
		t.Fatalf("%+v", evs[1])
	}
}

func TestHRDecodeBadBodies(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/bamboohr.config.json", nil))
	for name, body := range map[string]string{
		"not JSON":           `{"employees":[`,
		"no employees":       `{"employee":[]}`,
		"employees a map":    `{"employees":{"1":{}}}`,
		"two JSON documents": `{"employees":[]}[]`,
	} {
		t.Run(name, func(t *testing.T) {
			if evs, err := s.Decode(httptest.NewRequest(http.MethodPost, "/", nil), []byte(body), time.Now()); err == nil {
				t.Fatalf("Decode = %+v, nil; want an error", evs)
			}
		})
	}
	one := newTestHR(t, hrConfig(t, "hr/hibob.config.json", nil))
	if _, err := one.Decode(httptest.NewRequest(http.MethodPost, "/", nil), []byte(`[{"type":"employee.left"}]`), time.Now()); err == nil {
		t.Fatal("a single-event source took an array")
	}
}

func TestParsePath(t *testing.T) {
	doc := map[string]any{
		"employees": []any{map[string]any{"fields": map[string]any{"Work Email": "a@example.com", `a"b.c]`: "odd"}}},
		"data":      map[string]any{"employeeId": json.Number("42"), "ok": true, "obj": map[string]any{}},
	}
	for _, tc := range []struct {
		path, want string
		err        bool
	}{
		{`employees[0].fields["Work Email"]`, "a@example.com", false},
		{`employees[0]["fields"]["Work Email"]`, "a@example.com", false},
		{`employees[0].fields["a\"b.c]"]`, "odd", false},
		{`data.employeeId`, "42", false},
		{`data.ok`, "true", false},
		{`data.obj`, "", true},
		{`data.missing`, "", true},
		{`employees[1].fields`, "", true},
	} {
		p, err := parsePath(tc.path)
		if err != nil {
			t.Fatalf("parsePath(%q): %v", tc.path, err)
		}
		got, err := p.scalar(doc)
		if tc.err != (err != nil) || got != tc.want {
			t.Errorf("%s = %q, %v; want %q (error %v)", tc.path, got, err, tc.want, tc.err)
		}
	}
	for _, bad := range []string{`a.`, `.a`, `a..b`, `a[`, `a["b"`, `a["b"]c`, `a[x]`, `a[-1]`, `a"b`, `a]`} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q) accepted it", bad)
		}
	}
}

func TestNewHRRefuses(t *testing.T) {
	base := func(edit func(st map[string]any)) SourceConfig { return hrConfig(t, "hr/bamboohr.config.json", edit) }
	for name, cfg := range map[string]SourceConfig{
		"an unknown member":      base(func(st map[string]any) { st["event"] = "x" }),
		"no signature header":    base(func(st map[string]any) { st["signature"] = map[string]any{} }),
		"an unknown algorithm":   base(func(st map[string]any) { st["signature"].(map[string]any)["algorithm"] = "md5" }),
		"an unknown encoding":    base(func(st map[string]any) { st["signature"].(map[string]any)["encoding"] = "b32" }),
		"body+timestamp without": base(func(st map[string]any) { delete(st["signature"].(map[string]any), "timestamp_header") }),
		"a bad tolerance":        base(func(st map[string]any) { st["signature"].(map[string]any)["tolerance"] = "5" }),
		"no actions":             base(func(st map[string]any) { st["actions"] = []any{} }),
		"a rule without values":  base(func(st map[string]any) { st["actions"] = []any{map[string]any{"field": "x"}} }),
		"a rule with action cancel": base(func(st map[string]any) {
			st["actions"] = []any{map[string]any{"field": "x", "values": []string{"y"}, "action": "cancel"}}
		}),
		"no user path":      base(func(st map[string]any) { st["user"] = map[string]any{} }),
		"user as id":        base(func(st map[string]any) { st["user"] = map[string]any{"path": "x", "as": "id"} }),
		"no ref":            base(func(st map[string]any) { delete(st, "ref") }),
		"a bad path":        base(func(st map[string]any) { st["termination_date"] = `fields["x` }),
		"a bad time of day": base(func(st map[string]any) { st["time_of_day"] = "25:00" }),
		"an unknown zone":   base(func(st map[string]any) { st["time_zone"] = "Mars/Olympus" }),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := newHR(cfg, []string{hrKey}); err == nil {
				t.Fatal("newHR accepted it")
			}
		})
	}
	if _, err := newHR(base(nil), nil); err == nil {
		t.Fatal("newHR accepted no secret")
	}
}

// TestHRExampleWorks runs dev mode's line for each sample config through a shell (openssl signs)
// and checks the request it would send authenticates and decodes to a job.
func TestHRExampleWorks(t *testing.T) {
	for _, file := range []string{"hr/bamboohr.config.json", "hr/hibob.config.json"} {
		t.Run(file, func(t *testing.T) {
			s := newTestHR(t, hrConfig(t, file, nil), "dev-hr-fixture 'with quotes'")
			line := s.Example("http://127.0.0.1:8090", time.Now())
			if strings.Contains(line, "\n") {
				t.Errorf("the example is not one line:\n%s", line)
			}
			calls := runExample(t, line)
			if len(calls) != 1 || calls[0].method != http.MethodPost || !strings.HasSuffix(calls[0].url, "/v1/sources/"+s.name) {
				t.Fatalf("calls %+v\n%s", calls, line)
			}
			c := calls[0]
			if err := s.Authenticate(c.request(), []byte(c.body), time.Now()); err != nil {
				t.Fatalf("the example's signature: %v\n%s", err, line)
			}
			if evs := decodeOK(t, s, []byte(c.body)); len(evs) != 1 || evs[0].Job == nil {
				t.Fatalf("events %+v", evs)
			}
		})
	}
}

// TestHRRefPartsDoNotCollide: the parts of a ref are joined unambiguously, so two changes whose
// values differ only in where a '/' falls are two jobs, not one answered duplicate.
func TestHRRefPartsDoNotCollide(t *testing.T) {
	s := newTestHR(t, hrConfig(t, "hr/hibob.config.json", func(st map[string]any) {
		st["ref"] = []string{"data.employeeId", "data.changeId"}
	}))
	a := decodeOK(t, s, []byte(`{"type":"employee.left","data":{"employeeId":"e1/c","changeId":"9"}}`))
	b := decodeOK(t, s, []byte(`{"type":"employee.left","data":{"employeeId":"e1","changeId":"c/9"}}`))
	if a[0].Job == nil || b[0].Job == nil {
		t.Fatalf("want two jobs: %+v %+v", a[0], b[0])
	}
	if a[0].Job.ID == b[0].Job.ID {
		t.Fatalf("two changes of two users share the job id %s: the second would answer duplicate", a[0].Job.ID)
	}
}
