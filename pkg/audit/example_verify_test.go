package audit_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// A receiver checks every delivery with audit.Verify before it trusts the body. The secret is the
// endpoint's whsec_ secret; in production read it from a file or a secret store.
func ExampleVerify() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20)) // the exact bytes: verify before decoding
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		if err := audit.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			fmt.Println("refused:", err)
			return
		}
		fmt.Printf("accepted %s (sequence %s): %s\n", r.Header.Get("webhook-id"), r.Header.Get("webhook-sequence"), body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	// What the relay sends: the event's bytes and the Standard Webhooks headers.
	body := []byte(`{"specversion":"1.0","id":"de16db6b-97c2-5677-b2d3-f924f829ad5d","sequence":"00000000000000000042"}`)
	signer, err := audit.NewSigner(secret)
	if err != nil {
		panic(err)
	}
	post := func(signed, sent []byte) int {
		now := time.Now()
		req, _ := http.NewRequest(http.MethodPost, receiver.URL, bytes.NewReader(sent))
		req.Header.Set("webhook-id", "de16db6b-97c2-5677-b2d3-f924f829ad5d")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", signer.Sign("de16db6b-97c2-5677-b2d3-f924f829ad5d", now, signed))
		req.Header.Set("webhook-sequence", "42")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(post(body, body))
	fmt.Println(post(body, bytes.Replace(body, []byte("42"), []byte("43"), 1))) // tampered in transit
	// Output:
	// accepted de16db6b-97c2-5677-b2d3-f924f829ad5d (sequence 42): {"specversion":"1.0","id":"de16db6b-97c2-5677-b2d3-f924f829ad5d","sequence":"00000000000000000042"}
	// 204
	// refused: webhook de16db6b-97c2-5677-b2d3-f924f829ad5d: audit: no matching webhook signature
	// 401
}
