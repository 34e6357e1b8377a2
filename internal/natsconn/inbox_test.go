package natsconn_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
)

// D11 of the 2026-12 review: each user's replies arrive under its own inbox prefix, so that the
// server's permissions can keep one role from reading another's replies.
func TestInboxPrefix(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		opts natsconn.Options
		want string
	}{
		{natsconn.Options{}, ""},
		{natsconn.Options{User: "worker"}, "_INBOX.worker"},
		{natsconn.Options{User: "worker", InboxPrefix: "_INBOX_w"}, "_INBOX_w"},
		{natsconn.Options{TokenFile: "x", InboxPrefix: "_INBOX.tok"}, "_INBOX.tok"},
	} {
		if got := c.opts.Inbox(); got != c.want {
			t.Errorf("%+v: Inbox() = %q, want %q", c.opts, got, c.want)
		}
	}
	for _, bad := range []natsconn.Options{{User: "bob smith", Password: "x"}, {User: "a.*", Password: "x"}, {InboxPrefix: "_INBOX.>"}, {InboxPrefix: "a..b"}} {
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--nats-inbox-prefix") {
			t.Errorf("%+v: Validate() = %v, want an error naming --nats-inbox-prefix", bad, err)
		}
	}
}

func TestConnectUsesTheInboxPrefix(t *testing.T) {
	t.Parallel()
	const user, password = "producer", "pw-inbox-3c1d"
	url := startServer(t, &server.Options{
		Users: []*server.User{{Username: user, Password: password, Permissions: &server.Permissions{
			// Replies may only reach _INBOX.producer.>; the user answers its own request.
			Publish:   &server.SubjectPermission{Allow: []string{"svc"}},
			Response:  &server.ResponsePermission{MaxMsgs: 1},
			Subscribe: &server.SubjectPermission{Allow: []string{"svc", "_INBOX.producer.>"}},
		}}},
	})
	nc, err := (&natsconn.Options{URL: url, User: user, Password: password}).Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.NewInbox(); !strings.HasPrefix(got, "_INBOX.producer.") {
		t.Errorf("NewInbox() = %q, want it under _INBOX.producer.", got)
	}
	sub, err := nc.Subscribe("svc", func(m *nats.Msg) { _ = m.Respond([]byte("pong")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe() //nolint:errcheck
	if reply, err := nc.Request("svc", nil, 5*time.Second); err != nil || string(reply.Data) != "pong" {
		t.Fatalf("request through the prefixed inbox: %v", err)
	}
}
