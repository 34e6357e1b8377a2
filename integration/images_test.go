//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// imageTag tags the images the tests build, so that they never overwrite a user's `make images`.
const imageTag = "test"

// image is one target of build/Dockerfile and the Go package whose binary it holds.
type image struct {
	target string // Dockerfile stage, binary name and image name
	pkg    string // go build argument
}

// images are every image the tests run; the relay image also runs the webhook sink.
var images = []image{
	{"worker", "./cmd/worker"},
	{"relay", "./cmd/relay"},
	{"ingress", "./cmd/ingress"},
	{"genesys-sim", "./cmd/genesys-sim"},
	{"enqueue", "./cmd/enqueue"},
	{"nats-server", "github.com/nats-io/nats-server/v2"}, // the `tool` in go.mod: the real server's main
}

var (
	imagesOnce sync.Once
	imagesErr  error
)

// imageName is the name of a built image, e.g. genesys-deactivator/worker:test.
func imageName(target string) string { return "genesys-deactivator/" + target + ":" + imageTag }

// natsImage is the NATS server image: ours, or GENESYS_NATS_IMAGE (e.g. the official "nats:2.12")
// where a registry can be reached.
func natsImage() string {
	if img := os.Getenv("GENESYS_NATS_IMAGE"); img != "" {
		return img
	}
	return imageName("nats-server")
}

// buildImages builds every image once per test binary: static binaries on the host, then
// build/Dockerfile's stages with the Docker API. Nothing is pulled (the stages are FROM scratch).
func buildImages(t *testing.T) {
	t.Helper()
	requireDocker(t)
	imagesOnce.Do(func() {
		start := time.Now()
		imagesErr = doBuildImages(context.Background())
		t.Logf("images built in %s", time.Since(start).Round(100*time.Millisecond))
	})
	if imagesErr != nil {
		t.Fatalf("build images: %v", imagesErr)
	}
}

func doBuildImages(ctx context.Context) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "genesys-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := stageContext(ctx, root, dir); err != nil {
		return err
	}
	prov, err := testcontainers.NewDockerProvider()
	if err != nil {
		return err
	}
	defer prov.Close()
	for _, img := range images {
		if img.target == "nats-server" && os.Getenv("GENESYS_NATS_IMAGE") != "" {
			continue
		}
		var log bytes.Buffer
		req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
			Context: dir, Dockerfile: "Dockerfile", Repo: "genesys-deactivator/" + img.target, Tag: imageTag,
			KeepImage: true, BuildLogWriter: &log,
			BuildOptionsModifier: func(o *client.ImageBuildOptions) { o.Target = img.target },
		}}
		if _, err := prov.BuildImage(ctx, req); err != nil {
			return fmt.Errorf("image %s: %w\n%s", img.target, err, log.String())
		}
	}
	return nil
}

// stageContext fills dir with what build/Dockerfile copies: the binaries, the host's CA roots
// and an empty data folder.
func stageContext(ctx context.Context, root, dir string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(os.PathSeparator)}
	for _, img := range images {
		args = append(args, img.pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	// The engine runs linux containers of the host's architecture (here they are the same machine).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	if err := copyFile(filepath.Join(root, "build", "Dockerfile"), filepath.Join(dir, "Dockerfile")); err != nil {
		return err
	}
	if err := copyFile("/etc/ssl/certs/ca-certificates.crt", filepath.Join(dir, "ca-certificates.crt")); err != nil {
		return fmt.Errorf("CA roots for the images (install ca-certificates): %w", err)
	}
	return os.Mkdir(filepath.Join(dir, "data"), 0o755)
}

// moduleRoot is the folder of go.mod, the parent of this package's folder.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
