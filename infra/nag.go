package main

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Suppression is one accepted cdk-nag finding: the rule, the resource path
// (relative to the stack; children included), the specific finding where the rule
// reports several (cdk-nag's appliesTo), and why it is acceptable here.
type Suppression struct {
	Rule      string
	Path      string
	AppliesTo []string
	Reason    string
}

const (
	xrayReason = "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions; " +
		"'*' is the only resource AWS accepts for them (AWS X-Ray IAM reference)."
	clinicSecretsReason = "Per-clinic EHR secrets are created by ops after deploy under the stage's prefix and named " +
		"by ARN in each clinic's config; the wildcard is bounded to that prefix (plus Secrets Manager's random ARN " +
		"suffix) and to GetSecretValue/DescribeSecret."
	noVPCReason = "The function calls only AWS public endpoints (DynamoDB, SQS, Secrets Manager, KMS, X-Ray) over TLS " +
		"with IAM auth, plus the internet (graph.facebook.com, clinic callback URLs); it reaches no VPC resource. A VPC " +
		"would add a NAT gateway and interface endpoints without protecting any data path."
	syncDLQReason = "Invoked synchronously (API Gateway proxy or an SQS event source mapping), never asynchronously, " +
		"so a Lambda DLQ would never receive anything; failed SQS records go to the queue's own DLQ (alarmed) and " +
		"failed API calls are answered with an error the caller retries."
	noAuthorizerReason = "Authentication is done by the application on every route: EHR calls carry a Standard " +
		"Webhooks signature or a per-clinic bearer token, Meta's webhook carries X-Hub-Signature-256 (HMAC with the " +
		"app secret, required by the method's request validator) and the GET handshake the verify token. Neither " +
		"caller can use IAM or Cognito."
)

// Suppressions lists every accepted finding for a stage. Anything not listed here
// fails the build (the tests require zero unsuppressed errors).
func Suppressions(st Stage) []Suppression {
	clinicSecretArn := "Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:" +
		st.ClinicSecretPrefix + "*"
	s := []Suppression{
		{Rule: "AwsSolutions-IAM4", Path: "BackupPlan/Tables/Role",
			AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"},
			Reason:    "AWS Backup's own service-role policy, assumed only by backup.amazonaws.com; AWS maintains it as the service adds backup features."},
		{Rule: "AwsSolutions-IAM4", Path: "Api/CloudWatchRole",
			AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
			Reason:    "The account-level role API Gateway assumes to write execution logs; AWS's policy is the documented one and grants only log writes."},
		{Rule: "AwsSolutions-IAM5", Path: "SenderHaltPolicy", AppliesTo: []string{"Resource::*"},
			Reason: "lambda:ListEventSourceMappings has no resource-level permissions; the sender uses it only to find its own " +
				"mapping's UUID (it cannot be passed in the environment without a dependency cycle). Updating is limited to that one mapping's ARN."},
		{Rule: "HIPAA.Security-APIGWCacheEnabledAndEncrypted", Path: "Api/DeploymentStage." + st.Name,
			Reason: "No API response may be cached: every call is a signed write or a per-clinic authenticated read of patient data. " +
				"With caching off there is no cache to encrypt."},
		{Rule: "HIPAA.Security-APIGWSSLEnabled", Path: "Api/DeploymentStage." + st.Name,
			Reason: "A stage client certificate authenticates API Gateway to HTTP backends; both integrations are Lambda proxy " +
				"invocations authorized by IAM (lambda:InvokeFunction with the API's source ARN), where a client certificate is never presented."},
	}
	for _, fn := range FunctionNames {
		id := logicalID(fn)
		s = append(s,
			Suppression{Rule: "AwsSolutions-IAM5", Path: id + "Policy", AppliesTo: []string{"Resource::*"}, Reason: xrayReason},
			Suppression{Rule: "HIPAA.Security-LambdaInsideVPC", Path: id + "Function", Reason: noVPCReason},
		)
		if fn != FnReminderSweep {
			s = append(s, Suppression{Rule: "HIPAA.Security-LambdaDLQ", Path: id + "Function", Reason: syncDLQReason})
		}
	}
	s = append(s, consoleSuppressions()...)
	for _, fn := range []string{FnEHRAPI, FnEHRNotifier} {
		s = append(s, Suppression{Rule: "AwsSolutions-IAM5", Path: logicalID(fn) + "Policy",
			AppliesTo: []string{clinicSecretArn}, Reason: clinicSecretsReason})
	}
	for _, m := range []string{"v1/{proxy+}/ANY", "healthz/GET", "openapi.yaml/GET", "webhooks/whatsapp/GET", "webhooks/whatsapp/POST"} {
		for _, rule := range []string{"AwsSolutions-APIG4", "AwsSolutions-COG4"} {
			s = append(s, Suppression{Rule: rule, Path: "Api/Default/" + m, Reason: noAuthorizerReason})
		}
	}
	secrets := map[string]string{
		"WhatsAppAccessToken": "The WhatsApp access token is a Meta system-user token issued in Meta Business Manager; " +
			"no Lambda can mint one. Ops rotate it by the README runbook; functions re-read it within 5 minutes.",
		"WhatsAppAppSecret": "The Meta app secret is reset in the Meta developer console, not by an API a rotation Lambda " +
			"could call. Ops rotate it by the README runbook; functions re-read it within 5 minutes.",
		"LogDigestKey": "The log digest key is random and generated by CloudFormation; rotating it would give every id a " +
			"new digest and break finding an id's log lines across the log retention period.",
		"WhatsAppVerifyToken": "The verify token is only compared during Meta's webhook subscription handshake and must " +
			"equal the value typed into Meta's console; automatic rotation would break re-verification. Ops rotate it with the app secret.",
	}
	for _, id := range sortedKeys(secrets) {
		for _, rule := range []string{"AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"} {
			s = append(s, Suppression{Rule: rule, Path: id, Reason: secrets[id]})
		}
	}
	if st.WebACLArn == "" {
		s = append(s, Suppression{Rule: "AwsSolutions-APIG3", Path: "Api/DeploymentStage." + st.Name,
			Reason: "No web ACL given for this stage (-c webAclArn=...); requests are still throttled per stage and " +
				"method and every route authenticates. Production should pass an account WAF ACL."})
	}
	return s
}

// addSuppressions registers every suppression by path. cdk-nag fails synthesis
// when a path matches nothing, so a renamed resource cannot leave a stale entry.
func addSuppressions(f *Frontdesk) {
	root := "/" + *f.Stack.Node().Path() + "/"
	for _, s := range Suppressions(f.Stage) {
		ps := &cdknag.NagPackSuppression{Id: jsii.String(s.Rule), Reason: jsii.String(s.Reason)}
		if len(s.AppliesTo) > 0 {
			applies := make([]interface{}, len(s.AppliesTo))
			for i, a := range s.AppliesTo {
				applies[i] = a
			}
			ps.AppliesTo = &applies
		}
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(f.Stack, jsii.String(root+s.Path),
			&[]*cdknag.NagPackSuppression{ps}, jsii.Bool(true))
	}
}
