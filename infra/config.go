package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Stage is everything that differs between a dev and a prod deployment. It is
// chosen with `-c stage=dev|prod` (cdk.json defaults to dev).
//
//	                        dev                  prod
//	tables, keys, secrets   DESTROY on delete    RETAIN + deletion protection
//	PITR recovery window    7 days               35 days
//	AWS Backup retention    7 days               35 days daily + 1 year monthly
//	log retention           1 month              1 year
//	KMS key pending window  7 days               30 days
//	alarm e-mail            optional             required (-c alarmEmail=ops@…)
//
// Everything else (encryption, tracing, alarms, throttling, IAM) is the same in
// both, so dev exercises exactly what prod runs.
type Stage struct {
	Name string // "dev" or "prod"; also the API Gateway stage name

	Retain             bool // RETAIN removal policy and deletion protection on data
	PITRDays           int
	BackupDays         int
	MonthlyBackupYears int // 0: no monthly backups
	LogRetention       awslogs.RetentionDays
	KeyPendingWindow   time.Duration

	// Optional integrations, all from context so nothing account-specific is in code.
	AlarmEmail     string // ops subscription to the alarm topic
	WebACLArn      string // an existing regional WAFv2 web ACL to associate with the API
	DomainName     string // custom domain for the API (mapped at the root: no base path)
	CertificateArn string // ACM certificate for DomainName, in the stack's region
	// ClinicSecretPrefix is the Secrets Manager name prefix under which ops create
	// per-clinic EHR secrets; the functions that need them may read only these.
	ClinicSecretPrefix string
}

// Prefix is prepended to every physical name (tables, queues, functions), and is
// the TABLE_PREFIX the functions receive, so names match the local stack's scheme.
func (s Stage) Prefix() string { return "frontdesk-" + s.Name + "-" }

// RemovalPolicy for stateful resources.
func (s Stage) RemovalPolicy() awscdk.RemovalPolicy {
	if s.Retain {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// Context keys read from cdk.json or `-c key=value`.
const (
	CtxStage              = "stage"
	CtxAlarmEmail         = "alarmEmail"
	CtxWebACLArn          = "webAclArn"
	CtxDomainName         = "domainName"
	CtxCertificateArn     = "certificateArn"
	CtxAssetRoot          = "assetRoot"
	CtxClinicSecretPrefix = "clinicSecretPrefix"
)

var (
	emailRE  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	wafArnRE = regexp.MustCompile(`^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/.+`)
)

// StageFromContext builds the stage configuration from context values and
// returns one error naming every problem.
func StageFromContext(get func(key string) string) (Stage, error) {
	name := get(CtxStage)
	if name == "" {
		name = "dev"
	}
	var s Stage
	switch name {
	case "dev":
		s = Stage{Name: name, PITRDays: 7, BackupDays: 7, LogRetention: awslogs.RetentionDays_ONE_MONTH,
			KeyPendingWindow: 7 * 24 * time.Hour}
	case "prod":
		s = Stage{Name: name, Retain: true, PITRDays: 35, BackupDays: 35, MonthlyBackupYears: 1,
			LogRetention: awslogs.RetentionDays_ONE_YEAR, KeyPendingWindow: 30 * 24 * time.Hour}
	default:
		return Stage{}, fmt.Errorf("infra: context stage=%q: want dev or prod", name)
	}
	s.AlarmEmail = get(CtxAlarmEmail)
	s.WebACLArn = get(CtxWebACLArn)
	s.DomainName = get(CtxDomainName)
	s.CertificateArn = get(CtxCertificateArn)
	s.ClinicSecretPrefix = get(CtxClinicSecretPrefix)
	if s.ClinicSecretPrefix == "" {
		s.ClinicSecretPrefix = "frontdesk/" + s.Name + "/clinic/"
	}

	var problems []string
	if s.Name == "prod" && s.AlarmEmail == "" {
		problems = append(problems, "prod needs -c alarmEmail=<ops address> so alarms reach someone")
	}
	if s.AlarmEmail != "" && !emailRE.MatchString(s.AlarmEmail) {
		problems = append(problems, fmt.Sprintf("alarmEmail %q is not an e-mail address", s.AlarmEmail))
	}
	if s.WebACLArn != "" && !wafArnRE.MatchString(s.WebACLArn) {
		problems = append(problems, fmt.Sprintf("webAclArn %q is not a regional WAFv2 web ACL ARN", s.WebACLArn))
	}
	if (s.DomainName == "") != (s.CertificateArn == "") {
		problems = append(problems, "domainName and certificateArn go together")
	}
	if !strings.HasSuffix(s.ClinicSecretPrefix, "/") {
		problems = append(problems, fmt.Sprintf("clinicSecretPrefix %q must end with /", s.ClinicSecretPrefix))
	}
	if len(problems) > 0 {
		return Stage{}, fmt.Errorf("infra: context: %s", strings.Join(problems, "; "))
	}
	return s, nil
}
