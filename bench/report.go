package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/ctl"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// ReportConfig configures the report benchmark.
type ReportConfig struct {
	Events int // audit events generated into the file-backed audit stream
	Runs   int // reports over them, each in its own process
}

// ReportRun is one report over the stream.
type ReportRun struct {
	Seconds      float64 `json:"seconds"` // the report's own run, connect to last byte written
	EventsPerSec float64 `json:"events_per_sec"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	OutputMiB    float64 `json:"output_mib"`
}

// ReportResult is what the report benchmark prints.
type ReportResult struct {
	Events             int         `json:"events"`
	StreamMiB          float64     `json:"stream_mib"`
	GenerateSeconds    float64     `json:"generate_seconds"`
	Runs               []ReportRun `json:"runs"`
	MedianEventsPerSec float64     `json:"median_events_per_sec"`
	MedianPeakRSSMiB   float64     `json:"median_peak_rss_mib"`
}

// reportChildLine starts the line on which the report child reports its time and peak RSS.
const reportChildLine = "report-child"

// Report generates cfg.Events audit events (a year's mix: deactivations, a third of them
// scheduled, their cleanups, read-backs, reactivations, exceptions and deletes) into a
// file-backed GENESYS_AUDIT, then runs genesysctl report (csv, to a file) over them cfg.Runs
// times, each in a child process whose own peak RSS it reads (see peakRSSKiB).
func Report(ctx context.Context, cfg ReportConfig) (ReportResult, error) {
	dir, err := os.MkdirTemp("", "bench-report-")
	if err != nil {
		return ReportResult{}, err
	}
	defer os.RemoveAll(dir)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
		JetStreamMaxMemory: 256 << 20, JetStreamMaxStore: 16 << 30, NoLog: true, NoSigs: true})
	if err != nil {
		return ReportResult{}, err
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		return ReportResult{}, errors.New("nats server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return ReportResult{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return ReportResult{}, err
	}
	names := jobs.Names{}
	if err := jobs.Provision(ctx, js, jobs.TopologyConfig{Names: names, Storage: jetstream.FileStorage}); err != nil {
		return ReportResult{}, err
	}
	start := time.Now()
	if err := generateAudit(ctx, js, cfg.Events); err != nil {
		return ReportResult{}, err
	}
	res := ReportResult{Events: cfg.Events, GenerateSeconds: time.Since(start).Seconds()}
	si, err := js.Stream(ctx, names.AuditStream())
	if err != nil {
		return res, err
	}
	if n := si.CachedInfo().State.Msgs; n != uint64(cfg.Events) {
		return res, fmt.Errorf("the audit stream holds %d events, want %d", n, cfg.Events)
	}
	res.StreamMiB = float64(si.CachedInfo().State.Bytes) / (1 << 20)
	for i := range cfg.Runs {
		out := fmt.Sprintf("%s/report-%d.csv", dir, i)
		cmd := exec.CommandContext(ctx, os.Args[0], "report-child")
		cmd.Env = append(os.Environ(), "BENCH_NATS_URL="+srv.ClientURL(), "BENCH_REPORT_OUT="+out)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, io.Discard // the csv's summary goes to stderr
		if err := cmd.Run(); err != nil {
			return res, fmt.Errorf("report child: %w", err)
		}
		var run ReportRun
		for line := range strings.Lines(stdout.String()) {
			if f := strings.Fields(line); len(f) == 3 && f[0] == reportChildLine {
				run.Seconds, _ = strconv.ParseFloat(f[1], 64)
				kib, _ := strconv.ParseFloat(f[2], 64)
				run.PeakRSSMiB = kib / 1024
			}
		}
		if run.Seconds == 0 || run.PeakRSSMiB == 0 {
			return res, fmt.Errorf("the report child reported nothing: %q", stdout.String())
		}
		run.EventsPerSec = float64(cfg.Events) / run.Seconds
		if st, err := os.Stat(out); err == nil {
			run.OutputMiB = float64(st.Size()) / (1 << 20)
		}
		os.Remove(out)
		res.Runs = append(res.Runs, run)
	}
	res.MedianEventsPerSec = median(res.Runs, func(r ReportRun) float64 { return r.EventsPerSec })
	res.MedianPeakRSSMiB = median(res.Runs, func(r ReportRun) float64 { return r.PeakRSSMiB })
	return res, nil
}

func median(runs []ReportRun, v func(ReportRun) float64) float64 {
	if len(runs) == 0 {
		return 0
	}
	vs := make([]float64, 0, len(runs))
	for _, r := range runs {
		vs = append(vs, v(r))
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

// ReportChild runs genesysctl report over the whole audit stream in this process and prints
// how long it took and its own peak RSS.
func ReportChild(ctx context.Context) error {
	url, out := os.Getenv("BENCH_NATS_URL"), os.Getenv("BENCH_REPORT_OUT")
	if url == "" || out == "" {
		return errors.New("report-child is started by the report benchmark")
	}
	stopProfile, err := startCPUProfile(".report")
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	code := ctl.Main(ctx, []string{"report", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "csv", "--out", out,
		"--timeout", "1h", "--nats-url", url}, strings.NewReader(""), io.Discard, io.Discard)
	took := time.Since(start)
	if code != ctl.ExitOK {
		return fmt.Errorf("genesysctl report: exit %d", code)
	}
	kib, ok := peakRSSKiB()
	if !ok {
		return errors.New("no peak RSS")
	}
	fmt.Printf("%s %.3f %d\n", reportChildLine, took.Seconds(), kib)
	return nil
}

// generateAudit publishes n user events as the workers would, asynchronously, with at most a
// few thousand unacknowledged.
func generateAudit(ctx context.Context, js jetstream.JetStream, n int) error {
	pub, err := audit.NewPublisher(js, audit.PublisherConfig{})
	if err != nil {
		return err
	}
	t0 := time.Now().Add(-365 * 24 * time.Hour).UTC()
	step := 365 * 24 * time.Hour / time.Duration(max(n, 1))
	yes, no := true, false
	for i := range n {
		r := benchRecord(i, t0.Add(time.Duration(i)*step), &yes, &no)
		ev, err := audit.Origin{}.UserEvent(r)
		if err != nil {
			return err
		}
		data, err := ev.Encode()
		if err != nil {
			return err
		}
		if _, err := js.PublishAsync(pub.Subject(ev), data); err != nil { // no Nats-Msg-Id: the duplicate window would hold a million ids
			return err
		}
		if i%4096 == 4095 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// benchRecord is the i-th event of the mix, by i mod 100: 55 deactivations (a third scheduled,
// each read back, 1 in 20 of those late past 4 h), 25 cleanups, 5 already inactive, 3 not found,
// 3 verify jobs, 3 reactivations, 2 deletes, 1 protected, 1 exhausted, 1 conflict, 1 held.
func benchRecord(i int, at time.Time, yes, no *bool) audit.Record {
	id := fmt.Sprintf("leaver-%07d", i)
	r := audit.Record{JobID: id, Time: at, Outcome: audit.OutcomeDeactivated, Attempts: 1, Latency: 2 * time.Second,
		User:        audit.Target{ID: fmt.Sprintf("9b1c2d3e-%04d-4a5b-8c9d-%012d", i%10000, i), UserName: fmt.Sprintf("agent%07d@example.com", i), ExternalID: fmt.Sprintf("E%07d", i)},
		RequestedBy: "workday-hr-feed", Ticket: fmt.Sprintf("HR-%07d", i), Reason: "termination", Priority: "normal"}
	r.Findings = audit.Findings{TokensRevoked: true, RolesBefore: []string{"Agent", "Employee", "Communicate - User"},
		CorrelationIDs: []string{"2f0c9a1e-6a4b-4b8e-9d7c-1e2f3a4b5c6d", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"},
		GrantsBefore:   []audit.Grant{{RoleID: "r-agent", RoleName: "Agent", DivisionID: "d-home", DivisionName: "Home"}}}
	switch m := i % 100; {
	case m < 55:
		r.Verified = yes
		r.Steps = map[string]json.RawMessage{"revoke_tokens": json.RawMessage(`{"revoked_at":"` + at.Add(-2500*time.Millisecond).Format(time.RFC3339Nano) + `"}`)}
		r.Verification = []audit.Check{{Check: "scim_active", OK: true, Observed: "active=false", Reason: "inactive", Round: 1},
			{Check: "token_after_revocation", OK: true, Observed: "lastTokenIssued 2026-03-04T05:06:07.890Z", Reason: "no token since the revocation", Round: 1}}
		if m%3 == 0 {
			r.NotBefore, r.Latency = at.Add(-30*time.Second), 72*time.Hour
		}
		if m%20 == 1 {
			r.Latency = 5 * time.Hour
		}
	case m < 80:
		r.Outcome, r.CleanupOf, r.Activity = audit.OutcomeCleanedUp, fmt.Sprintf("leaver-%07d", i-1), audit.ActivityOther
		r.Steps = map[string]json.RawMessage{"queues": json.RawMessage(`{"removed":["q-sales","q-support"]}`), "station": json.RawMessage(`{"disassociated":true}`)}
	case m < 85:
		r.Outcome = audit.OutcomeAlreadyInactive
	case m < 88:
		r.Outcome, r.User.ID, r.Findings = audit.OutcomeNotFound, "", audit.Findings{}
	case m < 91:
		r.Outcome, r.Verified = audit.OutcomeVerified, yes
	case m < 94:
		r.Outcome, r.Verified = audit.OutcomeReactivated, nil
	case m < 96:
		r.Outcome = audit.OutcomeDeleted
	case m < 97:
		r.Outcome, r.Error = audit.OutcomeProtected, "user holds protected role Master Admin"
	case m < 98:
		r.Outcome, r.Error, r.Attempts = audit.OutcomeExhausted, "attempt 1: 503; attempt 2: 503; attempt 3: 503", 3
	case m < 99:
		r.Outcome, r.Error = audit.OutcomeConflict, "409 Conflict: user is the last admin of a division"
	default:
		r.Outcome, r.Error, r.Verified = audit.OutcomeHeld, "legal hold LH-42", no
	}
	return r
}
