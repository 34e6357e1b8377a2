package genesys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// Review L7: a refused endpoint URL must not echo what its query, fragment
// or user info carry (a secret pasted into --token-url, say).
func TestRefusedURLHidesSecrets(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Value"
	for _, tc := range []struct{ name, base, token string }{
		{"token query", "https://api.mypurecloud.de", "https://login.mypurecloud.de/oauth/token?secret=" + secret},
		{"token fragment", "https://api.mypurecloud.de", "https://login.mypurecloud.de/oauth/token#" + secret},
		{"token user info", "https://api.mypurecloud.de", "https://id:" + secret + "@login.mypurecloud.de/oauth/token"},
		{"token unparsable", "https://api.mypurecloud.de", "https://login.mypurecloud.de/%zz?secret=" + secret},
		{"base query", "https://api.mypurecloud.de/?secret=" + secret, ""},
		{"base user info", "http://u:" + secret + "@127.0.0.1:1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []genesys.Option{genesys.WithCredentials("id", "not-the-secret")}
			if tc.token != "" {
				opts = append(opts, genesys.WithTokenURL(tc.token))
			}
			_, err := genesys.NewClient(tc.base, opts...)
			if !errors.Is(err, genesys.ErrInvalidArgument) {
				t.Fatalf("NewClient: got %v, want ErrInvalidArgument", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error echoes the secret: %v", err)
			}
		})
	}
}
