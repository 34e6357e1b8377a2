package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// D11 of the 2026-12 review: every role's replies (fetched jobs, status watches and gets, guard
// state) arrive under its own inbox prefix, _INBOX.<user>, and no role may subscribe to another's
// or to all of them.

// inboxRoles are the roles whose inbox the config confines: all of them.
var inboxRoles = []string{"producer", "worker", "relay", "auditor", "operator", "provisioner", "ingress"}

// denyOtherInboxes checks that c may not subscribe to every inbox, nor to another role's.
func denyOtherInboxes(c *client) {
	c.t.Helper()
	subjects := []string{"_INBOX.>", "_INBOX.*.>", "_INBOX.*.*", ">"}
	for _, r := range roles {
		if r != c.role {
			subjects = append(subjects, natsconn.InboxPrefixFor(r)+".>")
		}
	}
	for _, subj := range subjects {
		c.denied("subscribe to "+subj, subj, false, func(context.Context) error {
			sub, err := c.nc.SubscribeSync(subj)
			if err != nil {
				return err
			}
			defer sub.Unsubscribe() //nolint:errcheck
			return c.nc.Flush()
		})
	}
}

func TestNoRoleReadsAnotherRolesReplies(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	for _, r := range inboxRoles {
		t.Run(r, func(t *testing.T) {
			t.Parallel()
			denyOtherInboxes(connect(t, url, r))
		})
	}
}

// The enqueue binary, as the producer, uses its prefix for the publish acks and the status watch
// of --wait: with the prefixed inbox it gets its answers (here, that no worker took the job in
// time, which it can only know from the status bucket).
func TestEnqueueUsesTheProducersInbox(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	p := connect(t, url, "provisioner")
	p.allowed("provision", func(ctx context.Context) error {
		return jobs.Provision(ctx, p.js, jobs.TopologyConfig{Names: names, Storage: jetstream.MemoryStorage})
	})
	var out, errOut strings.Builder
	code := enqueue.Main(t.Context(), []string{"--nats-url", url, "--nats-user", "producer", "--nats-password", password("producer"),
		"--user-name", "someone@example.com", "--reason", "left", "--wait", "--timeout", "2s"}, strings.NewReader(""), &out, &errOut)
	if strings.Contains(errOut.String(), "ermission") || !strings.Contains(out.String(), "pending") {
		t.Errorf("enqueue --wait as producer: exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
}
