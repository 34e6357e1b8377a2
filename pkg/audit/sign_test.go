package audit

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks spec's test vector (libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// secondSecret is another valid secret for rotation tests.
const secondSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

func TestSignerMatchesSpecVector(t *testing.T) {
	t.Parallel()
	s, err := NewSigner(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign(vectorID, time.Unix(vectorTS, 0), []byte(vectorBody)); got != vectorSig {
		t.Errorf("Sign = %q, want %q", got, vectorSig)
	}
	// A prefix-less secret is the same key, as in the reference library.
	bare, err := NewSigner(strings.TrimPrefix(vectorSecret, SecretPrefix))
	if err != nil {
		t.Fatal(err)
	}
	if got := bare.Sign(vectorID, time.Unix(vectorTS, 0), []byte(vectorBody)); got != vectorSig {
		t.Errorf("bare secret: Sign = %q", got)
	}
}

func TestSignerRotationSignsWithEverySecret(t *testing.T) {
	t.Parallel()
	s, err := NewSigner(vectorSecret, secondSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(vectorTS, 0)
	sig := s.Sign(vectorID, now, []byte(vectorBody))
	parts := strings.Split(sig, " ")
	if len(parts) != 2 || parts[0] != vectorSig || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("Sign = %q, want the vector's signature then a second v1 entry", sig)
	}
	h := headers(vectorID, now, sig)
	for _, secret := range []string{vectorSecret, secondSecret} {
		if err := Verify(secret, h, []byte(vectorBody), now, 0); err != nil {
			t.Errorf("receiver holding one of the rotated secrets: %v", err)
		}
		// The reference library accepts it too.
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.VerifyIgnoringTimestamp([]byte(vectorBody), h); err != nil {
			t.Errorf("reference library: %v", err)
		}
	}
}

func TestNewSignerRejectsBadSecretsWithoutEchoingThem(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"", "whsec_not-base64!!", "whsec_c2hvcnQ=", "hunter2-secret-value"} {
		_, err := NewSigner(secret)
		if !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("NewSigner(%q) = %v, want ErrInvalidSecret", secret, err)
			continue
		}
		if secret != "" && strings.Contains(err.Error(), strings.TrimPrefix(secret, SecretPrefix)) {
			t.Errorf("error %q contains the secret", err)
		}
	}
	if _, err := NewSigner(); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("NewSigner() = %v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(vectorTS, 0)
	body := []byte(vectorBody)
	tests := []struct {
		name string
		h    http.Header
		body []byte
		now  time.Time
		want error
	}{
		{"valid", headers(vectorID, now, vectorSig), body, now, nil},
		{"valid among unknown schemes", headers(vectorID, now, "v1a,AAAA v2,xyz "+vectorSig), body, now, nil},
		{"within tolerance", headers(vectorID, now, vectorSig), body, now.Add(4 * time.Minute), nil},
		{"tampered body", headers(vectorID, now, vectorSig), []byte(`{"test": 2432232315}`), now, ErrNoMatchingSignature},
		{"other id", headers("msg_other", now, vectorSig), body, now, ErrNoMatchingSignature},
		{"bad base64", headers(vectorID, now, "v1,%%%"), body, now, ErrNoMatchingSignature},
		{"missing signature", headers(vectorID, now, ""), body, now, ErrMissingHeaders},
		{"missing id", headers("", now, vectorSig), body, now, ErrMissingHeaders},
		{"too old", headers(vectorID, now, vectorSig), body, now.Add(6 * time.Minute), ErrMessageTooOld},
		{"too new", headers(vectorID, now, vectorSig), body, now.Add(-6 * time.Minute), ErrMessageTooNew},
		{"bad timestamp", http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"1614265330.5"}, "Webhook-Signature": {vectorSig}}, body, now, ErrInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(vectorSecret, tt.h, tt.body, tt.now, 0)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
	if err := Verify("whsec_bad", headers(vectorID, now, vectorSig), body, now, 0); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("bad receiver secret: %v", err)
	}
}

// TestReferenceLibraryAgreesWithUs signs with the reference library and verifies with ours, and
// the other way round, at the current time.
func TestReferenceLibraryAgreesWithUs(t *testing.T) {
	t.Parallel()
	wh, err := standardwebhooks.NewWebhook(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"specversion":"1.0","id":"x"}`)
	theirs, err := wh.Sign("evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(vectorSecret, headers("evt_1", now, theirs), body, now, 0); err != nil {
		t.Errorf("our Verify of the reference signature: %v", err)
	}
	s, _ := NewSigner(vectorSecret)
	if err := wh.Verify(body, headers("evt_1", now, s.Sign("evt_1", now, body))); err != nil {
		t.Errorf("reference Verify of our signature: %v", err)
	}
}

func headers(id string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set(HeaderWebhookID, id)
	}
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if sig != "" {
		h.Set(HeaderWebhookSignature, sig)
	}
	return h
}
