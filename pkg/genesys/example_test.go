package genesys_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// A stand-in for Genesys Cloud with one active user, so that the example runs.
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"example-token","token_type":"bearer","expires_in":86399}`)
	})
	active := true
	user := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/scim+json")
		w.Header().Set("ETag", map[bool]string{true: `"7"`, false: `"8"`}[active])
		fmt.Fprintf(w, `{"id":"6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11","userName":"jane.doe@example.com","active":%t,"roles":[{"value":"Agent"}]}`, active)
	}
	mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		fmt.Fprint(w, `{"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11","userName":"jane.doe@example.com","active":true,"meta":{"version":"7"}}]}`)
	})
	mux.HandleFunc("PATCH /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		active = false
		user(w)
	})
	mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return httptest.NewServer(mux)
}

func Example() {
	srv := exampleServer() // in production: the region, e.g. "eu-central-1"
	defer srv.Close()

	client, err := genesys.NewClient(srv.URL,
		genesys.WithCredentials("my-client-id", "my-client-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(300, time.Minute)),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	u, _, err := client.Users.FindByUserName(ctx, "jane.doe@example.com")
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Users.EnsureActive(ctx, u, false, 3)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Tokens.RevokeAll(ctx, u.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s active=%t changed=%t version=%s\n", res.User.UserName, res.User.Active, res.Changed, res.User.Meta.Version)
	// Output: jane.doe@example.com active=false changed=true version=8
}
