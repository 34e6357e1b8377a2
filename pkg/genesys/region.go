package genesys

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Region is a Genesys Cloud region: one API host and one login host. There is
// no org-specific subdomain; the region alone picks the hosts.
type Region struct {
	Name string // AWS region name, e.g. "us-east-1"
	Host string // host suffix, e.g. "mypurecloud.com"
}

// APIBase is the API base URL, e.g. "https://api.mypurecloud.com/".
func (r Region) APIBase() string { return "https://api." + r.Host + "/" }

// TokenURL is the OAuth token endpoint, e.g. "https://login.mypurecloud.com/oauth/token".
func (r Region) TokenURL() string { return "https://login." + r.Host + "/oauth/token" }

// Regions lists every Genesys Cloud region, from the official SDKs' host tables.
var Regions = []Region{
	{"us-east-1", "mypurecloud.com"},
	{"us-east-2", "use2.us-gov-pure.cloud"},
	{"us-west-2", "usw2.pure.cloud"},
	{"ca-central-1", "cac1.pure.cloud"},
	{"sa-east-1", "sae1.pure.cloud"},
	{"mx-central-1", "mxc1.pure.cloud"},
	{"eu-west-1", "mypurecloud.ie"},
	{"eu-west-2", "euw2.pure.cloud"},
	{"eu-central-1", "mypurecloud.de"},
	{"eu-central-2", "euc2.pure.cloud"},
	{"me-central-1", "mec1.pure.cloud"},
	{"ap-south-1", "aps1.pure.cloud"},
	{"ap-northeast-1", "mypurecloud.jp"},
	{"ap-northeast-2", "apne2.pure.cloud"},
	{"ap-northeast-3", "apne3.pure.cloud"},
	{"ap-southeast-1", "apse1.pure.cloud"},
	{"ap-southeast-2", "mypurecloud.com.au"},
}

// LookupRegion finds a region by AWS name ("eu-central-1"), by host suffix
// ("mypurecloud.de"), or by its API or login host ("api.mypurecloud.de").
// Matching ignores case.
func LookupRegion(name string) (Region, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(strings.TrimPrefix(n, "api."), "login.")
	for _, r := range Regions {
		if n == r.Name || n == r.Host {
			return r, true
		}
	}
	return Region{}, false
}

// endpoints are the two URLs a client talks to.
type endpoints struct {
	base     *url.URL // API base, ends in "/"
	tokenURL string
}

// resolveEndpoints turns NewClient's first argument into the API base and
// token URL. A region name or host gives the region's HTTPS hosts. An
// explicit URL is taken as the API base; its token URL replaces a leading
// "api." in the host with "login." (the SDKs' rule) or, for any other host
// (a simulator, a proxy), is the same host's /oauth/token.
func resolveEndpoints(target, tokenURL string, insecure bool) (endpoints, error) {
	if r, ok := LookupRegion(target); ok {
		base, _ := url.Parse(r.APIBase())
		return endpoints{base: base, tokenURL: cmp.Or(tokenURL, r.TokenURL())}, checkTokenURL(tokenURL, insecure)
	}
	if !strings.Contains(target, "://") {
		return endpoints{}, fmt.Errorf("%w: %q is neither a known region nor a URL", ErrInvalidArgument, target)
	}
	base, err := parseEndpointURL(target, insecure)
	if err != nil {
		return endpoints{}, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + "/"
	if tokenURL == "" {
		login := *base
		if h := login.Hostname(); strings.HasPrefix(strings.ToLower(h), "api.") {
			login.Host = "login." + login.Host[len("api."):]
		}
		login.Path = "/oauth/token"
		tokenURL = login.String()
	}
	return endpoints{base: base, tokenURL: tokenURL}, checkTokenURL(tokenURL, insecure)
}

func checkTokenURL(tokenURL string, insecure bool) error {
	if tokenURL == "" {
		return nil
	}
	_, err := parseEndpointURL(tokenURL, insecure)
	return err
}

// parseEndpointURL accepts https anywhere and http only to a loopback host,
// unless insecure is set: the client secret and tokens travel to these URLs.
func parseEndpointURL(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, query and user info included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: endpoint URL: %v", ErrInvalidArgument, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("%w: endpoint URL %q must be scheme://host[:port][/path] with no user info, query or fragment", ErrInvalidArgument, shownURL(u))
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%w: plain http to %s is refused; use https, a loopback host, or the insecure option", ErrInvalidArgument, u.Host)
	}
	return nil, fmt.Errorf("%w: endpoint URL scheme %q is not http or https", ErrInvalidArgument, u.Scheme)
}

// shownURL is u as an error may show it: user info, query and fragment may
// carry secrets, so only their presence is shown, never their text.
func shownURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := v.String()
	if u.User != nil {
		s = strings.Replace(s, "//", "//[user info removed]@", 1)
	}
	if u.RawQuery != "" || u.ForceQuery {
		s += "?[query removed]"
	}
	if u.Fragment != "" {
		s += "#[fragment removed]"
	}
	return s
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
