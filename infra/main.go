// Command infra is Frontdesk's CDK app: `npx cdk synth|deploy [-c stage=prod]`
// from the repository root (cdk.json runs `make build`, then `go run ./infra`).
//
// It declares one stack per stage, applies the cdk-nag AwsSolutions and
// HIPAA.Security packs to it, and refuses to synthesize without the Lambda code.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	useBundledNode()
	defer closeQuietly()

	app := awscdk.NewApp(nil)
	get := func(key string) string {
		if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok {
			return v
		}
		return ""
	}
	st, err := StageFromContext(get)
	if err != nil {
		fail(err)
	}
	assetRoot := get(CtxAssetRoot)
	if assetRoot == "" {
		assetRoot = "build"
	}
	if err := CheckAssets(assetRoot); err != nil {
		fail(err)
	}
	NewApp(app, st, assetRoot)
	ApplyNag(app, NagOptions{Reports: true})
	app.Synth(nil)
}

// StackName is the CloudFormation stack name of a stage.
func StackName(st Stage) string { return "Frontdesk-" + st.Name }

// NewApp adds the stage's stack to app.
func NewApp(app awscdk.App, st Stage, assetRoot string) *Frontdesk {
	f := NewFrontdeskStack(app, StackName(st), &StackProps{
		StackProps: awscdk.StackProps{
			Description:           jsii.String("Frontdesk (" + st.Name + "): WhatsApp appointment reminders for clinics"),
			TerminationProtection: jsii.Bool(st.Retain),
		},
		Stage:     st,
		AssetRoot: assetRoot,
	})
	return f
}

// NagOptions tunes cdk-nag's output.
type NagOptions struct {
	Reports    bool // write cdk-nag's CSV reports into the cloud assembly
	LogIgnores bool // annotate each suppressed finding (info), so tests can see suppressions are used
}

// ApplyNag applies the cdk-nag AwsSolutions and HIPAA.Security packs to every
// stack in app: each unsuppressed finding becomes an error annotation, which
// fails `cdk synth|deploy` and the tests.
func ApplyNag(app awscdk.App, o NagOptions) {
	props := &cdknag.NagPackProps{Verbose: jsii.Bool(true), Reports: jsii.Bool(o.Reports), LogIgnores: jsii.Bool(o.LogIgnores)}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(props), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewHIPAASecurityChecks(props), nil)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	closeQuietly()
	os.Exit(1)
}

// closeQuietly stops the jsii kernel. jsii-runtime-go reaps the Node process from
// two goroutines, and the loser prints "Runtime process exited abnormally:
// waitid: no child processes" although nothing went wrong; everything worth
// saying has been said by now, so its stderr goes nowhere.
func closeQuietly() {
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stderr = devnull
	}
	jsii.Close()
}
