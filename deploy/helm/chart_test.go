// Package helm holds the tests of the Helm chart in genesys-deactivator/: `helm lint` and
// `helm template` with the default values and with the production-like values file, and checks
// over the rendered manifests (security context, probes, grace period, secrets mounted as files
// and never rendered, replicas, PodDisruptionBudgets, NetworkPolicies, the ServiceMonitor and
// the ConfigMap checksums).
//
// Helm is the one tools/helm/go.mod pins (helm.sh/helm/v4), built by
// `go tool -modfile=tools/helm/go.mod helm`: no cluster and no network beyond the Go module
// proxy (the first build of helm takes a few minutes; later runs use the build cache).
package helm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
)

const (
	chartDir       = "genesys-deactivator"
	productionFile = "genesys-deactivator/ci/production-values.yaml"
)

// helmBinary builds the pinned helm once (`go tool -modfile=tools/helm/go.mod helm version`,
// which caches the executable in the Go build cache) and returns the path of the cached
// executable (`go tool -n`), so that each test's call does not load helm's module graph again.
var helmBinary = sync.OnceValues(func() (string, error) {
	modfile, err := filepath.Abs("../../tools/helm/go.mod")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("go", "tool", "-modfile="+modfile, "helm", "version").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go tool -modfile=%s helm version: %v\n%s", modfile, err, out)
	}
	out, err := exec.Command("go", "tool", "-n", "-modfile="+modfile, "helm").Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n helm: %v", err)
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("go tool -n helm: %v", err)
	}
	return path, nil
})

// helm runs the pinned helm with args in this folder, with its own empty config, cache and data
// folders, and returns its standard output; a failure returns its standard error in the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := helmBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// render runs helm template with the given extra arguments (values files, --set) and parses the
// manifests.
func render(t *testing.T, extra ...string) manifests {
	t.Helper()
	out, err := helm(t, append([]string{"template", "gd", chartDir, "--namespace", "genesys"}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, out)
}

// writeValues writes a values file into a temporary folder and returns its path.
func writeValues(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default values", nil},
		{"production values", []string{"-f", productionFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := helm(t, append([]string{"lint", "--strict", chartDir}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint did not report success:\n%s", out)
			}
		})
	}
}

// TestTemplateDefault renders the default values: worker and relay, no ingress, no
// NetworkPolicy, no ServiceMonitor.
func TestTemplateDefault(t *testing.T) {
	m := render(t)
	checkEveryDeployment(t, m)
	if got := m.deploymentNames(); !slices.Equal(got, []string{"gd-genesys-deactivator-relay", "gd-genesys-deactivator-worker"}) {
		t.Errorf("Deployments = %v, want the worker and the relay", got)
	}
	w := m.deployment(t, "worker")
	if w.Spec.Replicas != 2 {
		t.Errorf("worker replicas = %d, want the default 2", w.Spec.Replicas)
	}
	if n := len(m.ofKind("NetworkPolicy")); n != 0 {
		t.Errorf("%d NetworkPolicies rendered with networkPolicy.enabled false", n)
	}
	if n := len(m.ofKind("ServiceMonitor")); n != 0 {
		t.Errorf("%d ServiceMonitors rendered with monitoring.serviceMonitor.enabled false", n)
	}
	if got := flagValue(w.container(t), "--rate-per-minute"); got != "300" {
		t.Errorf("--rate-per-minute = %q, want 300", got)
	}
	// The Go runtime's soft limit sits under the container's memory limit (256Mi).
	if env := w.container(t).Env; len(env) != 1 || env[0].Name != "GOMEMLIMIT" || env[0].Value != "230MiB" {
		t.Errorf("worker env = %+v, want only GOMEMLIMIT=230MiB (90 %% of 256Mi)", env)
	}
}

// TestTemplateProduction renders the production-like values: three workers sharing one budget,
// the ingress, NetworkPolicies with the named CIDRs and a ServiceMonitor.
func TestTemplateProduction(t *testing.T) {
	m := render(t, "-f", productionFile)
	checkEveryDeployment(t, m)
	if got := m.deploymentNames(); !slices.Equal(got, []string{"gd-genesys-deactivator-ingress", "gd-genesys-deactivator-relay", "gd-genesys-deactivator-worker"}) {
		t.Errorf("Deployments = %v, want ingress, relay and worker", got)
	}

	w := m.deployment(t, "worker")
	if w.Spec.Replicas != 3 {
		t.Errorf("worker replicas = %d, want 3", w.Spec.Replicas)
	}
	// One budget: the one worker Deployment passes the one value to every replica.
	if got := flagValue(w.container(t), "--rate-per-minute"); got != "300" {
		t.Errorf("--rate-per-minute = %q, want 300", got)
	}
	if got := flagValue(w.container(t), "--max-fleet"); got != "6" {
		t.Errorf("--max-fleet = %q, want 6", got)
	}

	// NetworkPolicies: one per component, egress to DNS, NATS and the named CIDRs only.
	pols := map[string]networkPolicy{}
	for _, d := range m.ofKind("NetworkPolicy") {
		var np networkPolicy
		d.decode(t, &np)
		pols[np.Metadata.Labels["app.kubernetes.io/component"]] = np
	}
	wantEgress := map[string][]string{
		"worker":  {"10.20.30.0/28"},
		"relay":   {"10.40.0.10/32", "10.40.0.20/32"},
		"ingress": nil,
	}
	for comp, cidrs := range wantEgress {
		np, ok := pols[comp]
		if !ok {
			t.Errorf("no NetworkPolicy for the %s", comp)
			continue
		}
		if !slices.Equal(np.Spec.PolicyTypes, []string{"Ingress", "Egress"}) {
			t.Errorf("%s NetworkPolicy policyTypes = %v, want Ingress and Egress", comp, np.Spec.PolicyTypes)
		}
		if got := np.egressCIDRs(); !slices.Equal(got, cidrs) {
			t.Errorf("%s NetworkPolicy egress CIDRs = %v, want %v", comp, got, cidrs)
		}
		if len(np.Spec.Egress) != 2+len(cidrs) {
			t.Errorf("%s NetworkPolicy has %d egress rules, want DNS, NATS and %d CIDRs", comp, len(np.Spec.Egress), len(cidrs))
		}
		if !np.allowsMetricsFrom("monitoring") {
			t.Errorf("%s NetworkPolicy does not let the monitoring namespace scrape: %+v", comp, np.Spec.Ingress)
		}
	}
	if got := pols["ingress"].ingressCIDRs("https"); !slices.Equal(got, []string{"10.0.0.0/16"}) {
		t.Errorf("ingress NetworkPolicy lets %v reach https, want only 10.0.0.0/16", got)
	}
	for _, comp := range []string{"worker", "relay"} {
		if got := pols[comp].ingressCIDRs("https"); len(got) != 0 {
			t.Errorf("%s NetworkPolicy lets %v in on https", comp, got)
		}
	}

	sms := m.ofKind("ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(sms))
	}
	var sm struct {
		Metadata meta
		Spec     struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			}
			Endpoints []struct{ Port, Path string }
		}
	}
	sms[0].decode(t, &sm)
	if sm.Metadata.Labels["release"] != "kube-prometheus-stack" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" {
		t.Errorf("ServiceMonitor = %+v, want the release label and the metrics port", sm)
	}
	// It must find the three components' metrics Services, and only them.
	var scraped []string
	for _, d := range m.ofKind("Service") {
		var s struct {
			Metadata meta
			Spec     struct{ Ports []struct{ Name string } }
		}
		d.decode(t, &s)
		if matches(sm.Spec.Selector.MatchLabels, s.Metadata.Labels) {
			scraped = append(scraped, s.Metadata.Name)
			if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != "metrics" {
				t.Errorf("scraped Service %s has ports %+v, want only metrics", s.Metadata.Name, s.Spec.Ports)
			}
		}
	}
	slices.Sort(scraped)
	if want := []string{"gd-genesys-deactivator-ingress-metrics", "gd-genesys-deactivator-relay-metrics", "gd-genesys-deactivator-worker-metrics"}; !slices.Equal(scraped, want) {
		t.Errorf("ServiceMonitor selects %v, want %v", scraped, want)
	}

	// The ingress Service exposes only https.
	for _, d := range m.ofKind("Service") {
		if d.name != "gd-genesys-deactivator-ingress" {
			continue
		}
		var s struct {
			Spec struct {
				Type  string
				Ports []struct {
					Name       string
					TargetPort string `yaml:"targetPort"`
				}
			}
		}
		d.decode(t, &s)
		if s.Spec.Type != "LoadBalancer" || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort != "https" {
			t.Errorf("ingress Service = %+v, want a LoadBalancer on https only", s.Spec)
		}
	}

	// The ingress gets the issue 19 flags.
	ic := m.deployment(t, "ingress").container(t)
	for flag, want := range map[string]string{
		"--config": "/etc/genesys/ingress.json", "--listen": ":8443", "--admin-listen": ":8081",
		"--tls-cert-file": "/run/secrets/genesys/tls/tls.crt", "--tls-key-file": "/run/secrets/genesys/tls/tls.key",
		"--nats-creds": "/run/secrets/genesys/nats/ingress.creds", "--shutdown-timeout": "20s",
	} {
		if got := flagValue(ic, flag); got != want {
			t.Errorf("ingress %s = %q, want %q", flag, got, want)
		}
	}
	if ic.Args[0] != "run" {
		t.Errorf("ingress args start with %q, want the run subcommand", ic.Args[0])
	}
}

// checkEveryDeployment asserts what every Deployment of the chart must have, whatever the values.
func checkEveryDeployment(t *testing.T, m manifests) {
	t.Helper()
	deps := m.ofKind("Deployment")
	if len(deps) == 0 {
		t.Fatal("no Deployment rendered")
	}
	pdbs := map[string]map[string]string{}
	for _, d := range m.ofKind("PodDisruptionBudget") {
		var p struct {
			Metadata meta
			Spec     struct {
				MaxUnavailable int `yaml:"maxUnavailable"`
				Selector       struct {
					MatchLabels map[string]string `yaml:"matchLabels"`
				}
			}
		}
		d.decode(t, &p)
		if p.Spec.MaxUnavailable != 1 {
			t.Errorf("PodDisruptionBudget %s maxUnavailable = %d, want 1", p.Metadata.Name, p.Spec.MaxUnavailable)
		}
		pdbs[p.Metadata.Name] = p.Spec.Selector.MatchLabels
	}
	sas := map[string]bool{}
	for _, d := range m.ofKind("ServiceAccount") {
		var sa struct {
			Metadata  meta
			Automount *bool `yaml:"automountServiceAccountToken"`
		}
		d.decode(t, &sa)
		sas[sa.Metadata.Name] = sa.Automount != nil && !*sa.Automount
	}
	configMaps := map[string]map[string]string{}
	for _, d := range m.ofKind("ConfigMap") {
		var cm struct{ Data map[string]string }
		d.decode(t, &cm)
		configMaps[d.name] = cm.Data
	}

	for _, d := range deps {
		var dep deployment
		d.decode(t, &dep)
		t.Run(dep.Metadata.Name, func(t *testing.T) {
			comp := dep.Metadata.Labels["app.kubernetes.io/component"]
			pod := dep.Spec.Template.Spec
			c := dep.container(t)

			checkSecurityContext(t, pod, c)

			// Probes on the binary's own health endpoints, on the port it is told to listen on.
			wantReady, listenFlag := "/readyz", "--http"
			switch comp {
			case "relay":
				wantReady = "/healthz" // the relay serves /healthz and /metrics only
			case "ingress":
				listenFlag = "--admin-listen"
			}
			port := flagValue(c, listenFlag)
			if !strings.HasPrefix(port, ":") {
				t.Fatalf("%s = %q, want :PORT on every interface so that the kubelet can probe it", listenFlag, port)
			}
			checkProbe(t, "liveness", c.LivenessProbe, c, "/healthz", port[1:])
			checkProbe(t, "readiness", c.ReadinessProbe, c, wantReady, port[1:])
			if c.StartupProbe != nil {
				checkProbe(t, "startup", c.StartupProbe, c, "/healthz", port[1:])
			}

			// The grace period outlasts the shutdown timeout the binary is given.
			timeout, err := time.ParseDuration(flagValue(c, "--shutdown-timeout"))
			if err != nil {
				t.Fatalf("--shutdown-timeout: %v", err)
			}
			if pod.TerminationGracePeriodSeconds == nil {
				t.Fatal("no terminationGracePeriodSeconds")
			}
			grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
				grace -= time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			}
			if grace <= timeout {
				t.Errorf("terminationGracePeriodSeconds %d (less any preStop sleep) is not above --shutdown-timeout %s", *pod.TerminationGracePeriodSeconds, timeout)
			}

			checkSecretsAreFiles(t, pod, c, configMaps)

			// Its own ServiceAccount, without an API token.
			if pod.ServiceAccountName != dep.Metadata.Name || !sas[pod.ServiceAccountName] {
				t.Errorf("serviceAccountName %q: want its own ServiceAccount with automountServiceAccountToken false", pod.ServiceAccountName)
			}
			if pod.Automount == nil || *pod.Automount {
				t.Error("the pod does not set automountServiceAccountToken: false")
			}

			// A PodDisruptionBudget that selects its pods.
			if sel, ok := pdbs[dep.Metadata.Name]; !ok || !matches(sel, dep.Spec.Template.Metadata.Labels) {
				t.Errorf("no PodDisruptionBudget selects its pods (PDBs: %v)", pdbs)
			}

			// A config change rolls the pods: the checksum of the component's ConfigMap.
			sum := dep.Spec.Template.Metadata.Annotations["checksum/config"]
			if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sum) {
				t.Errorf("checksum/config annotation = %q, want a sha256", sum)
			}
			var fromConfig bool
			for _, v := range pod.Volumes {
				fromConfig = fromConfig || (v.ConfigMap != nil && configMaps[v.ConfigMap.Name] != nil)
			}
			for _, e := range c.EnvFrom {
				fromConfig = fromConfig || (e.ConfigMapRef != nil && configMaps[e.ConfigMapRef.Name] != nil)
			}
			if !fromConfig {
				t.Error("it reads no ConfigMap of the chart")
			}
		})
	}

	// The provisioning Job runs under the same rules: restricted, secrets as files, no API token.
	for _, d := range m.ofKind("Job") {
		var job struct {
			Metadata meta
			Spec     struct {
				Template struct{ Spec podSpec }
			}
		}
		d.decode(t, &job)
		t.Run(job.Metadata.Name, func(t *testing.T) {
			pod := job.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			checkSecurityContext(t, pod, c)
			checkSecretsAreFiles(t, pod, c, configMaps)
			if pod.Automount == nil || *pod.Automount {
				t.Error("the pod does not set automountServiceAccountToken: false")
			}
			if job.Metadata.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" {
				t.Errorf("hook = %q, want pre-install,pre-upgrade", job.Metadata.Annotations["helm.sh/hook"])
			}
		})
	}
}

func checkSecurityContext(t *testing.T, pod podSpec, c container) {
	t.Helper()
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || csc == nil {
		t.Fatal("pod or container without a securityContext")
	}
	nonRoot := (csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) || (csc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	if !nonRoot {
		t.Error("runAsNonRoot is not true")
	}
	uid := psc.RunAsUser
	if csc.RunAsUser != nil {
		uid = csc.RunAsUser
	}
	if uid == nil || *uid == 0 {
		t.Errorf("runAsUser = %v, want a numeric non-root user", uid)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if csc.Privileged != nil && *csc.Privileged {
		t.Error("privileged")
	}
	if csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []string{"ALL"}) || len(csc.Capabilities.Add) != 0 {
		t.Errorf("capabilities = %+v, want drop ALL and nothing added", csc.Capabilities)
	}
	seccomp := psc.SeccompProfile
	if csc.SeccompProfile != nil {
		seccomp = csc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != "RuntimeDefault" {
		t.Errorf("seccompProfile = %+v, want RuntimeDefault", seccomp)
	}
}

func checkProbe(t *testing.T, name string, p *probe, c container, path, port string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("no %s probe over HTTP", name)
		return
	}
	got := p.HTTPGet.Port
	for _, cp := range c.Ports { // a named port resolves to its number
		if cp.Name == got {
			got = strconv.Itoa(cp.ContainerPort)
		}
	}
	if p.HTTPGet.Path != path || got != port {
		t.Errorf("%s probe GET %s on port %s (%s), want %s on %s", name, p.HTTPGet.Path, got, p.HTTPGet.Port, path, port)
	}
}

// secretFlags are the flags whose value is a file holding a secret.
var secretFlags = []string{
	"--client-secret-file", "--nats-password-file", "--nats-token-file", "--nats-nkey", "--nats-creds",
	"--nats-key", "--audit-checkpoint-key", "--tls-key-file",
}

// checkSecretsAreFiles asserts that every secret the container is given is a file on a Secret
// volume, including the ones its JSON config names, and that none is in its environment.
func checkSecretsAreFiles(t *testing.T, pod podSpec, c container, configMaps map[string]map[string]string) {
	t.Helper()
	secretDirs := map[string]string{} // mount path -> Secret
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.Secret != nil {
				secretDirs[vm.MountPath] = v.Secret.SecretName
				if !vm.ReadOnly {
					t.Errorf("Secret volume %s is mounted writable", v.Name)
				}
			}
		}
	}
	onSecretVolume := func(file string) bool {
		dir, ok := secretDirs[filepath.Dir(file)]
		return ok && dir != ""
	}
	var files []string
	for _, f := range secretFlags {
		if v := flagValue(c, f); v != "" {
			files = append(files, v)
		}
	}
	if flagValue(c, "--client-id") != "" && flagValue(c, "--client-secret-file") == "" {
		t.Error("a worker without --client-secret-file")
	}
	for _, a := range c.Args {
		for _, f := range []string{"--client-secret=", "--nats-password=", "--nats-token="} {
			if strings.HasPrefix(a, f) {
				t.Errorf("secret passed as a flag value: %s...", f)
			}
		}
	}
	files = append(files, c.configSecretFiles(t, pod, configMaps)...)
	if len(files) == 0 {
		t.Error("no secret file at all")
	}
	for _, f := range files {
		if !onSecretVolume(f) {
			t.Errorf("secret file %s is not on a Secret volume (Secret mounts: %v)", f, secretDirs)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("env %s comes from a Secret", e.Name)
		}
		if regexp.MustCompile(`(?i)SECRET|PASSWORD|TOKEN|CREDS|NKEY`).MatchString(e.Name) {
			t.Errorf("env %s looks like a secret", e.Name)
		}
	}
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil {
			t.Errorf("envFrom the Secret %s", e.SecretRef.Name)
		}
	}
}

// TestTemplateVariants renders the other branches of the templates: the ingress behind a
// TLS-terminating load balancer, NATS creds and NKey authentication with inbox prefixes, the
// relay switched off, a longer ack wait.
func TestTemplateVariants(t *testing.T) {
	m := render(t, "-f", writeValues(t, `
nats: {ackWait: 2m}
worker:
  nats: {auth: nkey, existingSecret: worker-seed, key: worker.nk, inboxPrefix: _INBOX.worker}
relay: {enabled: false}
provision:
  nats: {auth: creds, existingSecret: prov-creds, key: prov.creds, inboxPrefix: _INBOX.provisioner}
ingress:
  enabled: true
  tls: {insecureHTTP: true, existingSecret: ""}
  nats: {auth: token, existingSecret: ingress-token, key: token}
  config: {sources: [{name: hooks, kind: standard_webhooks, secret_files: [/run/secrets/genesys/hooks/whsec]}]}
  secretMounts: [{name: hooks, existingSecret: ingress-whsec}]
`))
	checkEveryDeployment(t, m)
	if got := m.deploymentNames(); !slices.Equal(got, []string{"gd-genesys-deactivator-ingress", "gd-genesys-deactivator-worker"}) {
		t.Errorf("Deployments = %v, want ingress and worker", got)
	}
	wc := m.deployment(t, "worker").container(t)
	for flag, want := range map[string]string{
		"--nats-nkey": "/run/secrets/genesys/nats/worker.nk", "--nats-inbox-prefix": "_INBOX.worker",
		"--nats-user": "", "--nats-password-file": "", "--ack-wait": "2m",
	} {
		if got := flagValue(wc, flag); got != want {
			t.Errorf("worker %s = %q, want %q", flag, got, want)
		}
	}
	ic := m.deployment(t, "ingress").container(t)
	for flag, want := range map[string]string{
		"--insecure-http": "true", "--tls-cert-file": "", "--tls-key-file": "",
		"--nats-token-file": "/run/secrets/genesys/nats/token",
	} {
		if got := flagValue(ic, flag); got != want {
			t.Errorf("ingress %s = %q, want %q", flag, got, want)
		}
	}
	jobs := m.ofKind("Job")
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs, want the provision Job", len(jobs))
	}
	var job deployment
	jobs[0].decode(t, &job)
	pc := job.Spec.Template.Spec.Containers[0]
	for flag, want := range map[string]string{
		"--nats-creds": "/run/secrets/genesys/nats/prov.creds", "--ack-wait": "2m", "--replicas": "3", "--prefix": "genesys",
	} {
		if got := flagValue(pc, flag); got != want {
			t.Errorf("provision %s = %q, want %q", flag, got, want)
		}
	}
}

// TestNoSecretValueRendered renders with Secrets named everywhere and a canary string wherever a
// careless chart would take a secret's value (and where this one takes only names), and checks
// the canary appears in no manifest: secrets reach the pods only as Secret volumes.
func TestNoSecretValueRendered(t *testing.T) {
	const canary = "CANARY-s3cr3t-do-not-render"
	careless := writeValues(t, strings.ReplaceAll(`
nats:
  password: $C
  token: $C
  tls: {key: $C}
worker:
  genesys:
    clientSecret: {value: $C, secret: $C}
    clientSecretValue: $C
  nats: {password: $C, token: $C, creds: $C, seed: $C}
  checkpointKey: {value: $C, pem: $C}
  secrets: {client-secret: $C}
  env: [{name: GENESYS_CLIENT_SECRET, value: $C}]
relay:
  nats: {password: $C}
  secrets: {siem-whsec: $C}
  secretMounts: # lists replace the production file's: both entries again, with values beside them
    - {name: siem-whsec, existingSecret: genesys-siem-whsec, value: $C, data: {whsec: $C}}
    - {name: splunk-hec, existingSecret: genesys-splunk-hec, stringData: {token: $C}}
ingress:
  nats: {password: $C}
  tls: {crt: $C, key: $C}
  secretMounts:
    - {name: okta, existingSecret: genesys-ingress-okta, value: $C}
    - {name: hr-hmac, existingSecret: genesys-ingress-hr, data: {key: $C}}
`, "$C", canary))
	out, err := helm(t, "template", "gd", chartDir, "-f", productionFile, "-f", careless)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, canary) {
		for i, line := range strings.Split(out, "\n") {
			if strings.Contains(line, canary) {
				t.Errorf("line %d of the rendered manifests holds the canary: %s", i+1, line)
			}
		}
	}
	m := parse(t, out)
	if n := len(m.ofKind("Secret")); n != 0 {
		t.Errorf("the chart rendered %d Secrets; it only references existing ones", n)
	}
	checkEveryDeployment(t, m)

	// The Secrets named in the values are the ones mounted.
	want := []string{
		"genesys-audit-checkpoint-key", "genesys-deactivator-nats-provisioner", "genesys-ingress-hr", "genesys-ingress-okta", "genesys-ingress-tls",
		"genesys-nats-client-tls", "genesys-nats-ingress-creds", "genesys-nats-relay-creds", "genesys-nats-worker-creds",
		"genesys-oauth-client", "genesys-siem-whsec", "genesys-splunk-hec",
	}
	var got []string
	for _, d := range append(m.ofKind("Deployment"), m.ofKind("Job")...) {
		var dep deployment // a Job's pod template is at the same place
		d.decode(t, &dep)
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Secret != nil && !slices.Contains(got, v.Secret.SecretName) {
				got = append(got, v.Secret.SecretName)
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Secret volumes %v, want %v", got, want)
	}
}

// TestRefusedValues: values that would put a secret into the environment or break the fleet are
// refused with a clear error that does not repeat the secret.
func TestRefusedValues(t *testing.T) {
	const canary = "CANARY-refused-value"
	for _, tc := range []struct {
		name   string
		values string
		want   string
	}{
		{"client secret in the plan", "worker:\n  plan:\n    client-secret: " + canary + "\n", "worker.plan.client-secret: set by the chart"},
		{"NATS password in the plan", "worker:\n  plan:\n    nats-password: " + canary + "\n", "worker.plan.nats-password: set by the chart"},
		{"relay secret by environment", "relay:\n  config:\n    endpoints:\n      - {name: siem, url: https://siem.example.com/x, secrets_env: " + canary + "}\n", "relay.config names a secret by environment variable"},
		{"ingress secret by environment", "ingress:\n  enabled: true\n  config:\n    sources:\n      - {name: hr, kind: hr, hmac_secret_env: " + canary + "}\n", "ingress.config names a secret by environment variable"},
		{"one worker id for every worker", "worker:\n  plan:\n    worker-id: " + canary + "\n", "worker.plan.worker-id: set by the chart"},
		{"more workers than the fleet budget divides by", "worker:\n  replicas: 9\n  maxFleet: 8\n", "worker.replicas (9) is above worker.maxFleet (8)"},
		{"NetworkPolicy without the Genesys addresses", "networkPolicy:\n  enabled: true\nrelay:\n  enabled: false\n", "worker.networkPolicy.genesysEgress"},
		{"NetworkPolicy without the SIEM addresses", "networkPolicy:\n  enabled: true\nworker:\n  networkPolicy:\n    genesysEgress: [{cidr: 10.0.0.1/32, ports: [443]}]\n", "relay.networkPolicy.siemEgress"},
		{"region and base URL", "worker:\n  genesys: {region: us-east-1, baseURL: https://proxy.example.com/}\n", "set region or baseURL, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helm(t, "template", "gd", chartDir, "-f", writeValues(t, tc.values))
			if err == nil {
				t.Fatal("rendered; want it refused")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error repeats the refused value:\n%v", err)
			}
		})
	}
}

// TestGracePeriodFollowsShutdownTimeout: the grace period is computed from the one shutdown
// value, so a longer timeout gives a longer grace period without a second setting.
func TestGracePeriodFollowsShutdownTimeout(t *testing.T) {
	m := render(t, "-f", productionFile, "--set", "worker.shutdownTimeoutSeconds=45,relay.shutdownTimeoutSeconds=30,ingress.shutdownTimeoutSeconds=12")
	for comp, want := range map[string]struct {
		flag  string
		grace int
	}{
		"worker":  {"45s", 55},
		"relay":   {"30s", 40},
		"ingress": {"12s", 27}, // 12 + the 5 s preStop sleep + 10
	} {
		d := m.deployment(t, comp)
		if got := flagValue(d.container(t), "--shutdown-timeout"); got != want.flag {
			t.Errorf("%s --shutdown-timeout = %s, want %s", comp, got, want.flag)
		}
		if got := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; got != want.grace {
			t.Errorf("%s terminationGracePeriodSeconds = %d, want %d", comp, got, want.grace)
		}
	}
}

// TestConfigChangeRollsPods: changing the plan or relay.json changes that component's checksum
// annotation (so the Deployment rolls its pods), and only that component's.
func TestConfigChangeRollsPods(t *testing.T) {
	sums := func(m manifests) map[string]string {
		out := map[string]string{}
		for _, comp := range []string{"worker", "relay"} {
			out[comp] = m.deployment(t, comp).Spec.Template.Metadata.Annotations["checksum/config"]
		}
		return out
	}
	base := sums(render(t))
	plan := sums(render(t, "--set", "worker.plan.steps=none"))
	relay := sums(render(t, "--set", "relay.config.endpoints[0].url=https://other.example.com/hooks"))
	if plan["worker"] == base["worker"] || plan["relay"] != base["relay"] {
		t.Errorf("a plan change: worker %s -> %s, relay %s -> %s; want only the worker's to change", base["worker"], plan["worker"], base["relay"], plan["relay"])
	}
	if relay["relay"] == base["relay"] || relay["worker"] != base["worker"] {
		t.Errorf("a relay.json change: relay %s -> %s, worker %s -> %s; want only the relay's to change", base["relay"], relay["relay"], base["worker"], relay["worker"])
	}

	// The plan reaches the worker as its environment variables.
	m := render(t, "--set", "worker.plan.steps=none")
	for _, d := range m.ofKind("ConfigMap") {
		if d.name != "gd-genesys-deactivator-worker-plan" {
			continue
		}
		var cm struct{ Data map[string]string }
		d.decode(t, &cm)
		if cm.Data["GENESYS_STEPS"] != "none" || cm.Data["GENESYS_PROTECT_ROLES"] != "Master Admin" {
			t.Errorf("worker plan ConfigMap = %v", cm.Data)
		}
		return
	}
	t.Error("no worker plan ConfigMap")
}

// TestBinariesAcceptFlags runs each binary with the arguments the chart renders for it (and the
// worker with its plan's variables as flags), followed by -h: a flag the binary does not define,
// or a value its type cannot parse, makes it exit 2 instead of printing its usage. The ingress is
// checked once its command exists in this module.
func TestBinariesAcceptFlags(t *testing.T) {
	m := render(t, "-f", productionFile)
	bin := t.TempDir()
	build := func(cmd string) string {
		out := filepath.Join(bin, filepath.Base(cmd))
		if b, err := exec.Command("go", "build", "-o", out, "../../"+cmd).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", cmd, err, b)
		}
		return out
	}
	run := func(name, exe string, args []string) {
		t.Helper()
		out, err := exec.Command(exe, append(slices.Clone(args), "-h")...).CombinedOutput()
		if err != nil {
			first, _, _ := strings.Cut(string(out), "\n")
			t.Errorf("%s %s -h: %v: %s", name, strings.Join(args, " "), err, first)
		}
	}

	worker := build("cmd/worker")
	wc := m.deployment(t, "worker").container(t)
	args := slices.Clone(wc.Args)
	for _, d := range m.ofKind("ConfigMap") {
		if d.name != "gd-genesys-deactivator-worker-plan" {
			continue
		}
		var cm struct{ Data map[string]string }
		d.decode(t, &cm)
		for env, v := range cm.Data {
			flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "GENESYS_")), "_", "-")
			args = append(args, "--"+flag+"="+v)
		}
	}
	run("worker", worker, args)

	for _, d := range m.ofKind("Job") {
		var job deployment
		d.decode(t, &job)
		run("worker (provision Job)", worker, job.Spec.Template.Spec.Containers[0].Args)
	}

	run("relay", build("cmd/relay"), m.deployment(t, "relay").container(t).Args)

	run("ingress", build("cmd/ingress"), m.deployment(t, "ingress").container(t).Args)
}

// --- the manifests ---

type manifest struct {
	kind, name string
	node       yaml.Node
}

func (d manifest) decode(t *testing.T, v any) {
	t.Helper()
	if err := d.node.Decode(v); err != nil {
		t.Fatalf("%s %s: %v", d.kind, d.name, err)
	}
}

type manifests []manifest

func parse(t *testing.T, out string) manifests {
	t.Helper()
	var m manifests
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered manifests are not YAML: %v", err)
		}
		var h struct {
			Kind     string
			Metadata meta
		}
		if err := n.Decode(&h); err != nil {
			t.Fatal(err)
		}
		if h.Kind == "" {
			continue // an empty document
		}
		m = append(m, manifest{kind: h.Kind, name: h.Metadata.Name, node: n})
	}
	return m
}

func (m manifests) ofKind(kind string) []manifest {
	var out []manifest
	for _, d := range m {
		if d.kind == kind {
			out = append(out, d)
		}
	}
	return out
}

func (m manifests) deploymentNames() []string {
	var names []string
	for _, d := range m.ofKind("Deployment") {
		names = append(names, d.name)
	}
	slices.Sort(names)
	return names
}

func (m manifests) deployment(t *testing.T, component string) deployment {
	t.Helper()
	for _, d := range m.ofKind("Deployment") {
		var dep deployment
		d.decode(t, &dep)
		if dep.Metadata.Labels["app.kubernetes.io/component"] == component {
			return dep
		}
	}
	t.Fatalf("no %s Deployment", component)
	return deployment{}
}

type meta struct {
	Name        string
	Labels      map[string]string
	Annotations map[string]string
}

type deployment struct {
	Metadata meta
	Spec     struct {
		Replicas int
		Strategy struct {
			RollingUpdate struct {
				MaxUnavailable int `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		}
		Template struct {
			Metadata meta
			Spec     podSpec
		}
	}
}

// container returns the Deployment's one container.
func (d deployment) container(t *testing.T) container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%s has %d containers, want 1", d.Metadata.Name, n)
	}
	return d.Spec.Template.Spec.Containers[0]
}

type podSpec struct {
	ServiceAccountName            string `yaml:"serviceAccountName"`
	Automount                     *bool  `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *struct {
		RunAsNonRoot   *bool    `yaml:"runAsNonRoot"`
		RunAsUser      *int     `yaml:"runAsUser"`
		SeccompProfile *seccomp `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []container
	Volumes    []struct {
		Name   string
		Secret *struct {
			SecretName string `yaml:"secretName"`
		}
		ConfigMap *struct{ Name string } `yaml:"configMap"`
	}
}

type seccomp struct{ Type string }

type container struct {
	Name  string
	Args  []string
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	Env []struct {
		Name      string
		Value     string
		ValueFrom *struct {
			SecretKeyRef *struct{ Name string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	}
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct{ Seconds int }
		} `yaml:"preStop"`
	}
	SecurityContext *struct {
		RunAsNonRoot             *bool    `yaml:"runAsNonRoot"`
		RunAsUser                *int     `yaml:"runAsUser"`
		ReadOnlyRootFilesystem   *bool    `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool    `yaml:"allowPrivilegeEscalation"`
		Privileged               *bool    `yaml:"privileged"`
		SeccompProfile           *seccomp `yaml:"seccompProfile"`
		Capabilities             *struct{ Drop, Add []string }
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

// configSecretFiles returns the secret files named in the JSON config the container's --config
// flag names (relay.json, ingress.json): every *_file and *_files field. configMaps maps a
// ConfigMap's name to its data.
func (c container) configSecretFiles(t *testing.T, pod podSpec, configMaps map[string]map[string]string) []string {
	t.Helper()
	cfg := flagValue(c, "--config")
	if cfg == "" {
		return nil
	}
	var js string
	var found bool
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && vm.MountPath == filepath.Dir(cfg) {
				js, found = configMaps[v.ConfigMap.Name][filepath.Base(cfg)]
			}
		}
	}
	if !found {
		t.Fatalf("--config %s: no ConfigMap of the chart holds it", cfg)
	}
	var doc any
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", cfg, err)
	}
	var files []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && strings.HasSuffix(k, "_file") {
					files = append(files, s)
				}
				if l, ok := x.([]any); ok && strings.HasSuffix(k, "_files") {
					for _, f := range l {
						files = append(files, fmt.Sprint(f))
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return files
}

type probe struct {
	HTTPGet *struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

type networkPolicy struct {
	Metadata meta
	Spec     struct {
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []npRule
		Egress      []npRule
	}
}

type npRule struct {
	From  []npPeer
	To    []npPeer
	Ports []struct{ Port string }
}

type npPeer struct {
	IPBlock           *struct{ CIDR string } `yaml:"ipBlock"`
	NamespaceSelector *struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"namespaceSelector"`
}

func (np networkPolicy) egressCIDRs() []string {
	var out []string
	for _, r := range np.Spec.Egress {
		for _, p := range r.To {
			if p.IPBlock != nil {
				out = append(out, p.IPBlock.CIDR)
			}
		}
	}
	return out
}

func (np networkPolicy) ingressCIDRs(port string) []string {
	var out []string
	for _, r := range np.Spec.Ingress {
		if !slices.ContainsFunc(r.Ports, func(p struct{ Port string }) bool { return p.Port == port }) {
			continue
		}
		for _, p := range r.From {
			if p.IPBlock != nil {
				out = append(out, p.IPBlock.CIDR)
			}
		}
	}
	return out
}

func (np networkPolicy) allowsMetricsFrom(namespace string) bool {
	for _, r := range np.Spec.Ingress {
		if len(r.Ports) != 1 || r.Ports[0].Port != "metrics" {
			continue
		}
		for _, p := range r.From {
			if p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == namespace {
				return true
			}
		}
	}
	return false
}

// flagValue returns the value of --name=value in the container's args ("" when absent; "true"
// for a bare --name).
func flagValue(c container, name string) string {
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name {
			return "true"
		}
	}
	return ""
}

// matches reports whether labels carry every selector pair.
func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestProductionValuesWork: what the production-like values render is what the binaries accept
// beyond their flags. The ingress builds every source of its rendered ingress.json (settings
// included; each secret file stands for a secret of its own); the worker reaches Genesys through
// the values' proxy (HTTPS_PROXY, which its client honours) and rolls with maxUnavailable 1, since
// an unready worker (a paused fleet, a guard hold) must not stall the rollout that fixes it; no
// PodDisruptionBudget keeps an unhealthy pod from being evicted.
func TestProductionValuesWork(t *testing.T) {
	m := render(t, "-f", productionFile)
	var ingressJSON string
	for _, d := range m.ofKind("ConfigMap") {
		var cm struct{ Data map[string]string }
		d.decode(t, &cm)
		if v, ok := cm.Data["ingress.json"]; ok {
			ingressJSON = v
		}
	}
	cfg, err := ingress.ParseConfig([]byte(ingressJSON))
	if err != nil {
		t.Fatalf("the rendered ingress.json: %v\n%s", err, ingressJSON)
	}
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	secret := func(path string) (string, error) { // whsec_ and 32 bytes of its own per file
		sum := sha256.Sum256([]byte(path))
		return "whsec_" + base64.StdEncoding.EncodeToString(sum[:]), nil
	}
	if _, err := ingress.New(cfg, js, nil, ingress.WithSecretReader(secret)); err != nil {
		t.Errorf("the ingress refuses the production values' sources: %v", err)
	}

	w := m.deployment(t, "worker")
	if w.Spec.Strategy.RollingUpdate.MaxUnavailable != 1 {
		t.Errorf("worker rollingUpdate.maxUnavailable = %d, want 1", w.Spec.Strategy.RollingUpdate.MaxUnavailable)
	}
	proxy := ""
	for _, e := range w.container(t).Env {
		if e.Name == "HTTPS_PROXY" {
			proxy = e.Value
		}
	}
	if proxy != "http://egress-proxy.net.internal:3128" {
		t.Errorf("worker HTTPS_PROXY = %q, want the values' proxy", proxy)
	}
	pdbs := m.ofKind("PodDisruptionBudget")
	if len(pdbs) == 0 {
		t.Fatal("no PodDisruptionBudget")
	}
	for _, d := range pdbs {
		var pdb struct {
			Spec struct {
				Policy string `yaml:"unhealthyPodEvictionPolicy"`
			}
		}
		d.decode(t, &pdb)
		if pdb.Spec.Policy != "AlwaysAllow" {
			t.Errorf("PodDisruptionBudget %s: unhealthyPodEvictionPolicy %q, want AlwaysAllow", d.name, pdb.Spec.Policy)
		}
	}
}
