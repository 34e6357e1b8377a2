package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestVerifyAcceptsAProvisionedTopology(t *testing.T) {
	cfg := TopologyConfig{Storage: jetstream.MemoryStorage}
	js := provisionedJS(t, cfg)
	if err := Verify(t.Context(), js, cfg); err != nil {
		t.Fatalf("Verify after Provision: %v", err)
	}
}

func TestVerifyReportsAMissingTopology(t *testing.T) {
	js, _ := startJS(t)
	err := Verify(t.Context(), js, TopologyConfig{})
	var te *TopologyError
	if !errors.As(err, &te) || !errors.Is(err, ErrTopology) || !te.Missing {
		t.Fatalf("Verify on an empty server: %v, want a TopologyError with Missing", err)
	}
	for _, name := range []string{"GENESYS_JOBS", "GENESYS_AUDIT", "workers-urgent", "KV_genesys-status"} {
		if !strings.Contains(err.Error(), name+" is missing") && !strings.Contains(err.Error(), name+" on GENESYS_JOBS is missing") {
			t.Errorf("error does not say %s is missing: %v", name, err)
		}
	}
}

// D6 of the 2026-12 review: each change that weakens what a stream keeps must be named.
func TestVerifyNamesEveryWeakening(t *testing.T) {
	cases := []struct {
		name string
		edit func(sc *jetstream.StreamConfig)
		want string
	}{
		{"review probe", func(sc *jetstream.StreamConfig) { sc.MaxMsgs, sc.Discard = 1, jetstream.DiscardOld },
			"GENESYS_AUDIT discard policy DiscardOld (want DiscardNew); GENESYS_AUDIT max messages 1, max bytes -1 (want unlimited)"},
		{"shorter max age", func(sc *jetstream.StreamConfig) { sc.MaxAge = time.Hour * 48 },
			"GENESYS_AUDIT max age 48h0m0s (want at least 9600h0m0s)"},
		{"byte limit", func(sc *jetstream.StreamConfig) { sc.MaxBytes = 1 << 20 }, "max bytes 1048576 (want unlimited)"},
		{"per-subject limit", func(sc *jetstream.StreamConfig) { sc.MaxMsgsPerSubject = 1 }, "GENESYS_AUDIT max messages per subject 1"},
		{"shorter duplicate window", func(sc *jetstream.StreamConfig) { sc.Duplicates = time.Minute }, "GENESYS_AUDIT duplicate window 1m0s (want at least 24h0m0s)"},
		{"fewer subjects", func(sc *jetstream.StreamConfig) { sc.Subjects = []string{"genesys.audit.user.>"} }, "GENESYS_AUDIT subjects"},
		{"per-message TTL", func(sc *jetstream.StreamConfig) { sc.AllowMsgTTL = true }, "GENESYS_AUDIT allows per-message TTLs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := TopologyConfig{Storage: jetstream.MemoryStorage}
			js := provisionedJS(t, cfg)
			s, err := js.Stream(t.Context(), "GENESYS_AUDIT")
			if err != nil {
				t.Fatal(err)
			}
			sc := s.CachedInfo().Config
			c.edit(&sc)
			if _, err := js.UpdateStream(t.Context(), sc); err != nil {
				t.Fatalf("update: %v", err)
			}
			err = Verify(t.Context(), js, cfg)
			var te *TopologyError
			if !errors.As(err, &te) || te.Missing || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify: %v, want a TopologyError naming %q", err, c.want)
			}
		})
	}
}

func TestVerifyNamesAChangedConsumerAndBucket(t *testing.T) {
	cfg := TopologyConfig{Storage: jetstream.MemoryStorage}
	js := provisionedJS(t, cfg)
	ctx := t.Context()
	if err := Provision(ctx, js, TopologyConfig{Storage: jetstream.MemoryStorage, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.UpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "genesys-locks", History: 5, LimitMarkerTTL: limitMarkerTTL, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	err := Verify(ctx, js, cfg)
	for _, want := range []string{"consumer workers-urgent ack wait 1s (want 30s)", "consumer workers-normal ack wait 1s", "bucket genesys-locks history 5 (want 1)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Verify: %v, want it to name %q", err, want)
		}
	}
	if err := Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, js, cfg); err != nil {
		t.Fatalf("Verify after provisioning again: %v", err)
	}
}
