package auditchain_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
)

// The link's byte layout, pinned by a value computed with printf, xxd and sha256sum:
// 32 zero bytes, be64(1), be32(19), "genesys.audit.ops.x", be64(2), "{}".
func TestLinkKnownAnswer(t *testing.T) {
	t.Parallel()
	got := auditchain.Next(auditchain.Zero, 1, "genesys.audit.ops.x", []byte("{}"))
	if want := "661fa1840f8d669089487ebfc86f7a521f4379ed16fd0afdaeff4a59fd24c6c3"; got.String() != want {
		t.Fatalf("link_1 = %s, want %s", got, want)
	}
	if l, ok := auditchain.ParseLink(got.String()); !ok || l != got {
		t.Fatal("ParseLink does not read String back")
	}
}

// A checkpoint of the longest span goes through an ops event unclipped and verifies; its
// canonical string is the documented seven lines; any change breaks the signature.
func TestCheckpointRoundTrip(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	cp := &auditchain.Checkpoint{From: 10, Seq: 10 + auditchain.MaxSpan - 1, Link: auditchain.Next(auditchain.Zero, 1, "s", nil),
		Time: time.Date(2026, 12, 7, 2, 10, 0, 0, time.UTC), Links: bytes.Repeat([]byte{0xab, 0xcd, 0xef, 0x01}, auditchain.MaxSpan)}
	cp.Sign(key)
	want := "genesys-audit-checkpoint-v1\nfrom=10\nseq=137\nlink=" + cp.Link.String() + "\ntime=2026-12-07T02:10:00Z\nkey_id=" +
		auditchain.KeyID(key.Public().(ed25519.PublicKey)) + "\nlinks=" + strings.Repeat("abcdef01", auditchain.MaxSpan) + "\n"
	if string(cp.Canonical()) != want {
		t.Fatalf("canonical:\n%s\nwant:\n%s", cp.Canonical(), want)
	}
	ev, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: auditchain.Kind, Message: "m", Time: cp.Time, Fields: cp.Fields()})
	if err != nil {
		t.Fatal(err)
	}
	data, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, ok, err := auditchain.ParseEvent(data)
	if !ok || err != nil {
		t.Fatalf("parse: %v %v", ok, err)
	}
	if err := back.Verify(key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	back.Time = back.Time.Add(time.Second)
	if back.Verify(key.Public().(ed25519.PublicKey)) == nil {
		t.Fatal("a changed time still verifies")
	}
	if _, ok, _ := auditchain.ParseEvent([]byte(`{"data":{"kind":"paused"}}`)); ok {
		t.Fatal("another ops event parsed as a checkpoint")
	}
}
