package genesyssim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

func Example() {
	sim, _ := genesyssim.New(genesyssim.Config{Users: 3})
	hs := httptest.NewServer(sim) // or genesyssim.NewTestServer(t, cfg) in a test
	defer hs.Close()

	req, _ := http.NewRequest("POST", hs.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth(genesyssim.DefaultClientID, genesyssim.DefaultClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ := http.DefaultClient.Do(req)
	res.Body.Close()
	fmt.Println("grant:", res.StatusCode)

	token, _ := sim.Token(genesyssim.DefaultClientID)
	id := sim.Users()[0].ID
	req, _ = http.NewRequest("PATCH", hs.URL+"/api/v2/scim/v2/users/"+id, strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	u, _ := sim.User(id)
	fmt.Println("patch:", res.StatusCode, "active:", u.Active, "count header:", res.Header.Get("inin-ratelimit-count"))
	fmt.Println("logged:", sim.Counters().ByRoute["PATCH /api/v2/scim/v2/users/{id}"][200])
	// Output:
	// grant: 200
	// patch: 200 active: false count header: 1
	// logged: 1
}
