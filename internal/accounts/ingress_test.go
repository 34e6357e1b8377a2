package accounts_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Issue 19: the HTTPS ingress user may publish jobs (the urgent and normal lanes and the intake of
// jobs for a later time; never a reactivation, which operators alone publish) and its ops event ingress_rejected, and take the
// acknowledgements on its own inbox; nothing else. It reads no stream message, bucket or
// consumer, publishes no cleanup or delete job, no schedule, no audit event of a job.
func TestIngressPublishesJobsOnly(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	c := connect(t, url, "ingress")
	pub, err := jobs.NewPublisher(c.js, names)
	if err != nil {
		t.Fatal(err)
	}
	user := jobs.UserRef{UserName: "leaver@example.com"}
	enqueue := func(job jobs.Job) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := pub.Enqueue(ctx, job)
			return err
		}
	}

	// What it may do, each acknowledged by the jobs stream.
	for _, job := range []jobs.Job{
		{ID: "in-urgent", Action: jobs.ActionDeactivate, Priority: jobs.PriorityUrgent, User: user, RequestedBy: "ingress:okta"},
		{ID: "in-normal", Action: jobs.ActionDeactivate, User: user, RequestedBy: "ingress:hr"},
		{ID: "in-cancel", Action: jobs.ActionCancel, User: user, RequestedBy: "ingress:hr"},
	} {
		c.allowed("publish job "+job.ID, func(ctx context.Context) error {
			res, err := pub.Enqueue(ctx, job)
			if err == nil && (res.Stream != "GENESYS_JOBS" || res.Sequence == 0 || res.Duplicate || res.Scheduled) {
				t.Errorf("job %s: PubAck %+v, want a new message in GENESYS_JOBS", job.ID, res)
			}
			return err
		})
	}
	later := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Millisecond)
	c.allowed("publish a job for a later time (the intake)", func(ctx context.Context) error {
		res, err := pub.Enqueue(ctx, jobs.Job{ID: "in-later", Action: jobs.ActionDeactivate, User: user, RequestedBy: "ingress:hr", NotBefore: later})
		if err == nil && (!res.Scheduled || res.Stream != "GENESYS_JOBS" || res.Sequence == 0) {
			t.Errorf("scheduled job: PubAck %+v, want a new message on the intake", res)
		}
		return err
	})
	c.allowed("publish its ops event ingress_rejected", func(ctx context.Context) error {
		ack, err := c.js.Publish(ctx, names.OpsAuditSubject("ingress_rejected"), []byte(`{}`))
		if err == nil && ack.Stream != "GENESYS_AUDIT" {
			t.Errorf("ops event stored in %s, want GENESYS_AUDIT", ack.Stream)
		}
		return err
	})
	c.allowed("read the jobs stream's info (readiness)", func(ctx context.Context) error {
		_, err := c.js.Stream(ctx, "GENESYS_JOBS")
		return err
	})

	// What it may not do.
	c.denied("publish a cleanup job", "genesys.jobs.cleanup", true, enqueue(
		jobs.Job{ID: "in-parent", Action: jobs.ActionDeactivate, User: user, RequestedBy: "ingress:hr"}.CleanupJob(time.Time{})))
	c.denied("publish a reactivation", "genesys.jobs.reactivate", true, enqueue(
		jobs.Job{ID: "in-reactivate", Action: jobs.ActionReactivate, User: user, RequestedBy: "ingress:okta"}))
	c.denied("publish a reactivation for a later time", "genesys.jobs.at.reactivate", true, enqueue(
		jobs.Job{ID: "in-reactivate-later", Action: jobs.ActionReactivate, User: user, RequestedBy: "ingress:okta", NotBefore: later}))
	c.denied("publish a delete job", "genesys.jobs.delete", true, enqueue(
		jobs.Job{ID: "in-delete", Action: jobs.ActionDelete, User: user, RequestedBy: "ingress:hr"}))
	c.denied("publish a delete job for a later time", "genesys.jobs.at.delete", true, enqueue(
		jobs.Job{ID: "in-delete-later", Action: jobs.ActionDelete, User: user, RequestedBy: "ingress:hr", NotBefore: later}))
	for _, subj := range []string{"genesys.jobs.cleanup", "genesys.jobs.delete.x", "genesys.scheduled.at.normal.x.y",
		"genesys.scheduled.due.normal.x.y", "genesys.scheduled.canceled.x.y", "genesys.dead.failed",
		"genesys.audit.user.deactivated.forged", "genesys.audit.job.forged", "genesys.audit.ops.drift_found"} {
		c.denied("publish on "+subj, subj, true, func(ctx context.Context) error {
			_, err := c.js.Publish(ctx, subj, []byte(`{}`))
			return err
		})
	}
	c.denied("read the jobs stream", "$JS.API.CONSUMER.CREATE.GENESYS_JOBS", true, func(ctx context.Context) error {
		_, err := readAll(ctx, c.js, "GENESYS_JOBS", "genesys.jobs.>")
		return err
	})
	c.denied("get a job by sequence", "$JS.API.STREAM.MSG.GET.GENESYS_JOBS", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.STREAM.MSG.GET.GENESYS_JOBS", map[string]uint64{"seq": 1})
	})
	c.denied("get a job directly", "$JS.API.DIRECT.GET.GENESYS_JOBS", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.DIRECT.GET.GENESYS_JOBS", map[string]uint64{"seq": 1})
	})
	c.denied("take the workers' lane", "$JS.API.CONSUMER.MSG.NEXT.GENESYS_JOBS.workers-normal", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.CONSUMER.MSG.NEXT.GENESYS_JOBS.workers-normal", map[string]int{"batch": 1})
	})
	c.denied("read the audit stream", "$JS.API.CONSUMER.CREATE.GENESYS_AUDIT", true, func(ctx context.Context) error {
		_, err := readAll(ctx, c.js, "GENESYS_AUDIT", "genesys.audit.>")
		return err
	})
	c.denied("read dead letters", "$JS.API.CONSUMER.CREATE.GENESYS_DEAD", true, readDead(c))
	c.denied("read the scheduled jobs", "$JS.API.STREAM.INFO.GENESYS_SCHEDULED", true, func(ctx context.Context) error {
		_, err := c.js.Stream(ctx, "GENESYS_SCHEDULED")
		return err
	})
	c.denied("read the status bucket", "$JS.API.STREAM.INFO.KV_genesys-status", true, func(ctx context.Context) error {
		_, err := jobs.NewStatusStore(ctx, c.js, names)
		return err
	})
	c.denied("read a status directly", "$JS.API.DIRECT.GET.KV_genesys-status", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.DIRECT.GET.KV_genesys-status.$KV.genesys-status.in-normal", nil)
	})
	c.denied("write the status bucket", "$KV.genesys-status", true, putStatus(c))
	c.denied("write the guard bucket", "$KV.genesys-guard", true, func(ctx context.Context) error {
		_, err := c.js.Publish(ctx, "$KV.genesys-guard.forged", []byte(`{}`))
		return err
	})
	c.denied("list the jobs stream's consumers", "$JS.API.CONSUMER.LIST.GENESYS_JOBS", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.CONSUMER.LIST.GENESYS_JOBS", map[string]int{"offset": 0})
	})
	c.denied("pause a lane", "$JS.API.CONSUMER.PAUSE.GENESYS_JOBS.workers-urgent", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.CONSUMER.PAUSE.GENESYS_JOBS.workers-urgent", map[string]string{"pause_until": later.Format(time.RFC3339)})
	})
	denyStreamUpdates(c)
	denyOtherInboxes(c)
}

// The ingress server itself, on a connection as the ingress user: ready (the jobs stream's info),
// a signed job answered 200 once stored, and a rejected event's ops event ingress_rejected
// stored in the audit stream (an auditor sees it): the role is enough for what the binary does.
func TestIngressServerUnderItsRole(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	c := connect(t, url, "ingress")
	const secret = "whsec_dGVzdC1vbmx5LWFjY291bnRzLWluZ3Jlc3Mtc2VjcmV0"
	secretFile := filepath.Join(t.TempDir(), "soar.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgJSON, _ := json.Marshal(map[string]any{"sources": []map[string]any{{"name": "soar", "kind": "standard_webhooks", "secret_files": []string{secretFile}}}})
	cfg, err := ingress.ParseConfig(cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ingress.New(cfg, c.js, zaptest.NewLogger(t), ingress.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	c.allowed("be ready", srv.Ready)
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	signer, err := audit.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	post := func(id, body string) (int, ingress.Answer) {
		t.Helper()
		now := time.Now()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, web.URL+"/v1/sources/soar", strings.NewReader(body))
		req.Header.Set(audit.HeaderWebhookID, id)
		req.Header.Set(audit.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(audit.HeaderWebhookSignature, signer.Sign(id, now, []byte(body)))
		resp, err := web.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a ingress.Answer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatalf("answer %d: %v", resp.StatusCode, err)
		}
		return resp.StatusCode, a
	}
	if code, a := post("msg_acc_1", `{"action":"deactivate","user":{"user_name":"leaver@example.com"}}`); code != http.StatusOK || a.Accepted != 1 {
		t.Fatalf("a signed job: %d %+v, want 200 and accepted 1 (violations: %d)", code, a, len(c.violations))
	}
	// The rejected event's ops event, as an auditor sees it on the audit subjects.
	auditor := connect(t, url, "auditor")
	sub, err := auditor.nc.SubscribeSync(names.OpsAuditSubject("ingress_rejected"))
	if err != nil {
		t.Fatal(err)
	}
	if err := auditor.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if code, a := post("msg_acc_2", `{"action":"deactivate","user":{"user_name":"not an identifier"}}`); code != http.StatusBadRequest || a.Rejected != 1 {
		t.Fatalf("an invalid identifier: %d %+v, want 400 and rejected 1", code, a)
	}
	if _, err := sub.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no ingress_rejected ops event: %v (violations: %d)", err, len(c.violations))
	}
	if n := len(c.violations); n != 0 {
		t.Errorf("the ingress server met %d permission violations, e.g. %s", n, <-c.violations)
	}
}
