package main

import (
	"strings"
	"testing"
)

// emulatorOutput is what aws-lambda-rie printed for one cold start of the hello-world
// bootstrap (request ids shortened).
const emulatorOutput = `01 Dec 2026 12:15:07,315 [INFO] (rapid) exec './bootstrap' (cwd=/tmp/hello, handler=)
START RequestId: 0f3458b4 Version: $LATEST
01 Dec 2026 12:15:08,490 [INFO] (rapid) INIT START(type: on-demand, phase: init)
01 Dec 2026 12:15:08,497 [INFO] (rapid) INIT RTDONE(status: success)
01 Dec 2026 12:15:08,497 [INFO] (rapid) INIT REPORT(durationMs: 6.229000)
01 Dec 2026 12:15:08,497 [INFO] (rapid) INVOKE START(requestId: 0f3458b4)
01 Dec 2026 12:15:08,497 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 0.695000ms)
END RequestId: 0f3458b4
REPORT RequestId: 0f3458b4	Init Duration: 0.07 ms	Duration: 7.10 ms	Billed Duration: 8 ms	Memory Size: 3008 MB	Max Memory Used: 3008 MB	
`

func TestParseSample(t *testing.T) {
	cases := []struct {
		name       string
		out        string
		init, call float64
		wantErr    bool
	}{
		{"emulator output", emulatorOutput, 6.229, 0.695, false},
		{"managed-instances format", "INIT REPORT(initType: on-demand, durationMs: 12.50, status: success, phase: init, errorType: )\n" +
			"INVOKE RTDONE(status: success, produced bytes: 0, duration: 3.25ms)\n", 12.5, 3.25, false},
		{"no init report", "INVOKE RTDONE(status: success, produced bytes: 0, duration: 0.5ms)\n", 0, 0, true},
		{"no invocation", "INIT REPORT(durationMs: 1.0)\n", 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSample(tc.out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && (got.init != tc.init || got.firstInvoke != tc.call) {
				t.Errorf("got %+v, want init %v and first invoke %v", got, tc.init, tc.call)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range cases {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestSlowestInitsCountsOnlyTheBootstrap(t *testing.T) {
	out := "init github.com/aws/aws-lambda-runtime-interface-emulator/x @0.1 ms, 9.00 ms clock, 0 bytes, 0 allocs\n" +
		"INIT START(type: on-demand, phase: init)\n" +
		"init runtime @0.01 ms, 0.10 ms clock, 0 bytes, 0 allocs\n" +
		"init github.com/nyaruka/phonenumbers @1.2 ms, 5.40 ms clock, 100 bytes, 3 allocs\n" +
		"init net/http @0.5 ms, 0.05 ms clock, 0 bytes, 0 allocs\n"
	got := slowestInits(out, 2)
	want := "total 5.5 over 3 packages; github.com/nyaruka/phonenumbers 5.40; runtime 0.10"
	if got != want {
		t.Errorf("slowestInits = %q, want %q", got, want)
	}
	if strings.Contains(got, "emulator") {
		t.Error("the emulator's own inits were counted")
	}
}
