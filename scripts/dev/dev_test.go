package main

// What `make dev` promises, checked against the built command: /healthz
// answers 200 within 60 s of start, Ctrl-C leaves no process and no port behind,
// and starting it again on the same ports works.

import (
	"github.com/frontdesk-health/frontdesk/shared/localtest"

	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

const (
	healthyWithin = 60 * time.Second // the acceptance bound
	exitWithin    = 20 * time.Second
	// goneWithin bounds the wait for the kernel to reap processes re-parented when
	// their parent exited; the dev command itself waits for its servers.
	goneWithin = 5 * time.Second
)

func TestDevStartsStopsCleanlyAndStartsAgain(t *testing.T) {
	whatsappspec.RequireSpec(t) // the Graph API stand-in needs Meta's spec
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to find the dev command's child processes")
	}
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "dev")
	// `go test` puts its own GOROOT/bin first on PATH, so this is the same toolchain.
	build := exec.Command("go", "build", "-o", bin, "./scripts/dev")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./scripts/dev: %v\n%s", err, out)
	}

	port, graphPort := freePort(t), freePort(t)
	for run := 1; run <= 2; run++ {
		t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) {
			d := startDev(t, bin, root, port, graphPort)
			took := d.waitHealthy(t)
			t.Logf("GET /healthz answered 200 %s after start", took.Round(time.Millisecond))
			// Ctrl-C comes after the banner, as a user would press it.
			d.waitOutput(t, "Frontdesk is running.")

			dynPort, motoPort := d.serverPorts(t)
			children := descendants(t, d.cmd.Process.Pid)
			// The scan must see the local servers, or "none left" would prove nothing.
			var sawJava, sawMoto bool
			for _, p := range children {
				sawJava = sawJava || (strings.Contains(p.cmdline, "DynamoDBLocal.jar") && strings.Contains(p.cmdline, strconv.Itoa(dynPort)))
				sawMoto = sawMoto || (strings.Contains(p.cmdline, "moto") && strings.Contains(p.cmdline, strconv.Itoa(motoPort)))
			}
			if !sawJava || !sawMoto {
				t.Fatalf("child processes of dev do not include DynamoDB Local on %d (%v) and moto on %d (%v): %v",
					dynPort, sawJava, motoPort, sawMoto, children)
			}

			d.interrupt(t)
			if d.waitErr != nil {
				t.Fatalf("dev exited with %v after SIGINT, want status 0\n%s", d.waitErr, d.output())
			}
			nothingLeft(t, children, dynPort, motoPort, port, graphPort)
		})
		if t.Failed() {
			return // the next run would only repeat this one's failure
		}
	}

	// Ctrl-C while it is still starting (Java and moto launched, not yet answering)
	// must clean up just as well; the exit status may say it did not start.
	t.Run("interrupted_while_starting", func(t *testing.T) {
		d := startDev(t, bin, root, port, graphPort)
		var children []proc
		var dynPort, motoPort int
		deadline := time.Now().Add(healthyWithin)
		for dynPort == 0 || motoPort == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no DynamoDB Local and moto child processes within %s:\n%s", healthyWithin, d.output())
			}
			time.Sleep(20 * time.Millisecond) // polling /proc, bounded by deadline
			children = descendants(t, d.cmd.Process.Pid)
			dynPort, motoPort = 0, 0
			for _, p := range children {
				if strings.Contains(p.cmdline, "DynamoDBLocal.jar") {
					dynPort = argAfter(p.cmdline, "-port")
				} else if strings.Contains(p.cmdline, "moto") {
					motoPort = argAfter(p.cmdline, "-p")
				}
			}
		}
		d.interrupt(t)
		t.Logf("exit status after an early SIGINT: %v", d.waitErr)
		nothingLeft(t, children, dynPort, motoPort, port, graphPort)
	})
}

// argAfter returns the number following flag in a command line, or 0.
func argAfter(cmdline, flag string) int {
	f := strings.Fields(cmdline)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == flag {
			n, _ := strconv.Atoi(f[i+1])
			return n
		}
	}
	return 0
}

// nothingLeft asserts that none of children runs any more, that no DynamoDB Local
// or moto serves the given server ports whoever its parent is now, and that every
// port can be listened on again.
func nothingLeft(t *testing.T, children []proc, dynPort, motoPort int, ports ...int) {
	t.Helper()
	deadline := time.Now().Add(goneWithin)
	for {
		left := stillRunning(children)
		left = append(left, serversOnPorts(t, dynPort, motoPort)...)
		busy := busyPorts(append([]int{dynPort, motoPort}, ports...)...)
		if len(left) == 0 && len(busy) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after dev exited: processes left %v, ports still in use %v", goneWithin, left, busy)
		}
		time.Sleep(50 * time.Millisecond) // polling the kernel, bounded by deadline
	}
}

// dev is one running dev command.
type dev struct {
	cmd     *exec.Cmd
	port    int
	out     *localtest.LogBuffer // stdout: JSON logs; stderr: instructions
	started time.Time
	exited  chan struct{}
	waitErr error
}

func startDev(t *testing.T, bin, root string, port, graphPort int, env ...string) *dev {
	t.Helper()
	d := &dev{port: port, out: &localtest.LogBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(bin)
	d.cmd.Dir = root
	d.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "GRAPH_PORT="+strconv.Itoa(graphPort), "OIDC_PORT="+strconv.Itoa(freePort(t)))
	d.cmd.Env = append(d.cmd.Env, env...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start dev: %v", err)
	}
	go func() { d.waitErr = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		// A failed test must not leave the stack running: the local servers die with
		// dev (Pdeathsig), so killing dev is enough.
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Logf("dev output:\n%s", d.output())
	})
	return d
}

func (d *dev) output() string { return d.out.String() }

// waitOutput waits until dev has printed want (bounded by the start bound).
func (d *dev) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := d.started.Add(healthyWithin)
	for !strings.Contains(d.output(), want) {
		select {
		case <-d.exited:
			t.Fatalf("dev exited (%v) before printing %q:\n%s", d.waitErr, want, d.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev did not print %q within %s of start:\n%s", want, healthyWithin, d.output())
		}
		time.Sleep(50 * time.Millisecond) // polling, bounded by deadline
	}
}

// interrupt sends SIGINT (Ctrl-C) and waits for dev to exit.
func (d *dev) interrupt(t *testing.T) {
	t.Helper()
	sent := time.Now()
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("send SIGINT: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(exitWithin):
		t.Fatalf("dev did not exit within %s of SIGINT:\n%s", exitWithin, d.output())
	}
	t.Logf("dev exited %s after SIGINT", time.Since(sent).Round(time.Millisecond))
}

// waitHealthy polls /healthz until 200 and returns how long it took since start.
func (d *dev) waitHealthy(t *testing.T) time.Duration {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	u := fmt.Sprintf("http://127.0.0.1:%d/healthz", d.port)
	deadline := d.started.Add(healthyWithin)
	var last string
	for {
		select {
		case <-d.exited:
			t.Fatalf("dev exited before it was healthy (%v):\n%s", d.waitErr, d.output())
		default:
		}
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(d.started)
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s not 200 within %s of start (last: %s):\n%s", u, healthyWithin, last, d.output())
		}
		time.Sleep(100 * time.Millisecond) // polling, bounded by deadline
	}
}

// serverPorts reads the local servers' ports from dev's "local servers started" log line.
func (d *dev) serverPorts(t *testing.T) (dynamoPort, sqsPort int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(d.output()))
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Dynamo string `json:"dynamodb_endpoint"`
			SQS    string `json:"sqs_endpoint"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "local servers started" {
			continue
		}
		return portOf(t, line.Dynamo), portOf(t, line.SQS)
	}
	t.Fatalf("dev logged no \"local servers started\" line with the endpoints:\n%s", d.output())
	return 0, 0
}

func portOf(t *testing.T, endpoint string) int {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("endpoint %q has no port", endpoint)
	}
	return p
}

// proc is a process as /proc shows it; start tells a reused pid apart.
type proc struct {
	pid, ppid int
	start     string
	state     string
	cmdline   string
}

func (p proc) String() string { return fmt.Sprintf("%d(%s)", p.pid, p.cmdline) }

func readProc(pid int) (proc, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// The command name is in parentheses and may hold spaces; fields follow the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return proc{pid: pid, ppid: ppid, state: f[0], start: f[19], cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))}, true
}

func allProcs(t *testing.T) []proc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendants lists every process whose parent chain includes root.
func descendants(t *testing.T, root int) []proc {
	t.Helper()
	procs := allProcs(t)
	parent := map[int]int{}
	for _, p := range procs {
		parent[p.pid] = p.ppid
	}
	var out []proc
	for _, p := range procs {
		for q, hops := p.ppid, 0; q > 1 && hops < 64; q, hops = parent[q], hops+1 {
			if q == root {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// stillRunning returns the processes of list that still exist (same pid and start
// time) and are not zombies waiting to be reaped.
func stillRunning(list []proc) []proc {
	var out []proc
	for _, p := range list {
		if now, ok := readProc(p.pid); ok && now.start == p.start && now.state != "Z" {
			out = append(out, now)
		}
	}
	return out
}

// serversOnPorts finds any DynamoDB Local or moto process serving the given ports,
// whoever its parent is now (a re-parented orphan included).
func serversOnPorts(t *testing.T, dynPort, motoPort int) []proc {
	var out []proc
	for _, p := range allProcs(t) {
		if p.state == "Z" {
			continue
		}
		args := " " + p.cmdline + " "
		if strings.Contains(args, "DynamoDBLocal.jar") && strings.Contains(args, " -port "+strconv.Itoa(dynPort)+" ") ||
			strings.Contains(args, "moto") && strings.Contains(args, " -p "+strconv.Itoa(motoPort)+" ") {
			out = append(out, p)
		}
	}
	return out
}

// busyPorts returns the ports that cannot be listened on.
func busyPorts(ports ...int) []int {
	var busy []int
	for _, p := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			busy = append(busy, p)
			continue
		}
		l.Close()
	}
	return busy
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
