package genesys

import (
	"errors"
	"testing"
)

func TestEveryRegionResolves(t *testing.T) {
	t.Parallel()
	if len(Regions) != 17 {
		t.Errorf("%d regions, want the fact sheet's 17", len(Regions))
	}
	for _, r := range Regions {
		for _, name := range []string{r.Name, r.Host, "api." + r.Host, "login." + r.Host, " " + r.Name + " "} {
			c, err := NewClient(name, WithCredentials("id", "secret"))
			if err != nil {
				t.Errorf("NewClient(%q): %v", name, err)
				continue
			}
			if c.BaseURL() != "https://api."+r.Host+"/" || c.TokenURL() != "https://login."+r.Host+"/oauth/token" {
				t.Errorf("%q: base %s token %s", name, c.BaseURL(), c.TokenURL())
			}
		}
	}
	if r, ok := LookupRegion("eu-central-1"); !ok || r.APIBase() != "https://api.mypurecloud.de/" || r.TokenURL() != "https://login.mypurecloud.de/oauth/token" {
		t.Errorf("eu-central-1 = %+v", r)
	}
}

func TestExplicitEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target   string
		opts     []Option
		base     string
		tokenURL string
		wantErr  bool
	}{
		{target: "http://127.0.0.1:8089", base: "http://127.0.0.1:8089/", tokenURL: "http://127.0.0.1:8089/oauth/token"},
		{target: "http://localhost:8089/", base: "http://localhost:8089/", tokenURL: "http://localhost:8089/oauth/token"},
		{target: "http://[::1]:8089", base: "http://[::1]:8089/", tokenURL: "http://[::1]:8089/oauth/token"},
		{target: "https://api.example.org", base: "https://api.example.org/", tokenURL: "https://login.example.org/oauth/token"},
		{target: "https://proxy.example.org/genesys", base: "https://proxy.example.org/genesys/", tokenURL: "https://proxy.example.org/oauth/token"},
		{target: "https://proxy.example.org", opts: []Option{WithTokenURL("https://auth.example.org/oauth/token")}, base: "https://proxy.example.org/", tokenURL: "https://auth.example.org/oauth/token"},
		{target: "http://sim:8089", wantErr: true},
		{target: "http://sim:8089", opts: []Option{WithInsecureHTTP()}, base: "http://sim:8089/", tokenURL: "http://sim:8089/oauth/token"},
		{target: "https://proxy.example.org", opts: []Option{WithTokenURL("http://auth.example.org/oauth/token")}, wantErr: true},
		{target: "us-east-1", opts: []Option{WithTokenURL("http://10.0.0.1/oauth/token")}, wantErr: true},
		{target: "https://user:pass@api.example.org", wantErr: true},
		{target: "https://api.example.org?x=1", wantErr: true},
		{target: "ftp://api.example.org", wantErr: true},
		{target: "mars-north-1", wantErr: true},
		{target: "", wantErr: true},
	}
	for _, tt := range tests {
		c, err := NewClient(tt.target, append([]Option{WithCredentials("id", "secret")}, tt.opts...)...)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("NewClient(%q) err = %v, want ErrInvalidArgument", tt.target, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewClient(%q): %v", tt.target, err)
			continue
		}
		if c.BaseURL() != tt.base || c.TokenURL() != tt.tokenURL {
			t.Errorf("NewClient(%q): base %s token %s, want %s %s", tt.target, c.BaseURL(), c.TokenURL(), tt.base, tt.tokenURL)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	bad := map[string][]Option{
		"no credentials":   nil,
		"empty secret":     {WithCredentials("id", "")},
		"zero timeout":     {WithCredentials("id", "s"), WithTimeout(0)},
		"negative elapsed": {WithCredentials("id", "s"), WithMaxElapsedTime(-1)},
		"nil limiter":      {WithCredentials("id", "s"), WithLimiter(nil)},
		"nil http client":  {WithCredentials("id", "s"), WithHTTPClient(nil)},
		"negative renewal": {WithCredentials("id", "s"), WithTokenRenewal(-1)},
		"empty user agent": {WithCredentials("id", "s"), WithUserAgent("")},
	}
	for name, opts := range bad {
		if _, err := NewClient("us-east-1", opts...); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
}
