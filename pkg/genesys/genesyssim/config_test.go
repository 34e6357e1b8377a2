package genesyssim

import (
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	bad := map[string]Config{
		"repeated client":   {Clients: []Client{{ID: "a"}, {ID: "a"}}},
		"empty client id":   {Clients: []Client{{ID: ""}}},
		"short token TTL":   {TokenTTL: time.Millisecond},
		"negative limit":    {RateLimit: -1},
		"mode":              {RateLimitMode: "org"},
		"conflict style":    {VersionConflict: "418"},
		"not-found body":    {NotFoundBody: "html"},
		"delete status":     {ScimDeleteStatus: 202},
		"fault rate":        {Faults: Faults{TimeoutRate: 1.5}},
		"latency range":     {Faults: Faults{LatencyMin: 2 * time.Second, LatencyMax: time.Second}},
		"fault status":      {Faults: Faults{ErrorStatuses: []int{404}}},
		"negative log size": {LogSize: -1},
	}
	for name, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Users()) != DefaultUsers || s.cfg.RateLimit != 300 || s.cfg.RateWindow != time.Minute ||
		s.cfg.TokenTTL != 86399*time.Second || s.cfg.LogSize != DefaultLogSize {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
	if s, _ := New(Config{Users: -1}); len(s.Users()) != 0 {
		t.Error("Users: -1 should give an empty org")
	}
}
