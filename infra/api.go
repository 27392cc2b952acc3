package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// API throttling. The stage default protects the EHR API; Meta's webhook carries
// three statuses per sent message on top of replies, so at the sender's 80/s it
// needs several hundred requests a second.
const (
	APIRateLimit      = 50
	APIBurstLimit     = 100
	WebhookRateLimit  = 400
	WebhookBurstLimit = 800
)

// Routes' first path segments. The API Gateway stage name must not be one of
// them: the HTTP functions strip a leading "/<stage>" when a path carries it.
var routeRoots = []string{"v1", "healthz", "openapi.yaml", "webhooks", "console"}

// API is the REST API in front of the two HTTP functions.
type API struct {
	Rest          awsapigateway.RestApi
	AccessLogs    awslogs.LogGroup
	ExecutionLogs awslogs.LogGroup
	Webhook       awsapigateway.Resource
}

// accessLogFormat is JSON with what ops need to trace a request and nothing a
// caller sent in a body or query string (which may carry PHI).
var accessLogFormat = `{"requestId":"$context.requestId","xrayTraceId":"$context.xrayTraceId",` +
	`"ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",` +
	`"resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",` +
	`"integrationLatency":"$context.integrationLatency","integrationError":"$context.integration.error",` +
	`"wafResponse":"$context.wafResponseCode"}`

// newAPI builds the REST API. Routing is Lambda proxy on explicit resources, so
// API Gateway hands the function the resource path ("/v1/...") without the stage
// on the execute-api endpoint; a custom domain is mapped at its root (no base
// path) for the same reason; and API_STAGE_NAME lets the handler strip a leading
// "/<stage>" should any invocation style include it (aws-lambda-go-api-proxy
// passes the path through unchanged).
func newAPI(scope constructs.Construct, st Stage, keys Keys, ehrAPI, webhook awslambda.IFunction) *API {
	for _, r := range routeRoots {
		if strings.EqualFold(r, st.Name) {
			panic(fmt.Sprintf("infra: stage name %q collides with the route /%s", st.Name, r))
		}
	}
	accessLogs := awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/apigateway/" + st.Prefix() + "api/access"),
		Retention:     st.LogRetention,
		EncryptionKey: keys.Logs,
		RemovalPolicy: st.RemovalPolicy(),
	})

	rest := awsapigateway.NewRestApi(scope, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName:   jsii.String(st.Prefix() + "api"),
		Description:   jsii.String("Frontdesk EHR API and WhatsApp webhook"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Execution logs need the account-level CloudWatch role; retained because it
		// is shared by every API in the account and region.
		CloudWatchRole:              jsii.Bool(true),
		CloudWatchRoleRemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		FailOnWarnings:              jsii.Bool(true),
		Deploy:                      jsii.Bool(true),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(st.Name),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat)),
			TracingEnabled:       jsii.Bool(true),
			// ERROR-level execution logs; never data trace: bodies carry PHI.
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false),
			MetricsEnabled:       jsii.Bool(true),
			ThrottlingRateLimit:  jsii.Number(APIRateLimit),
			ThrottlingBurstLimit: jsii.Number(APIBurstLimit),
			MethodOptions: &map[string]*awsapigateway.MethodDeploymentOptions{
				"/webhooks/whatsapp/POST": {
					ThrottlingRateLimit: jsii.Number(WebhookRateLimit), ThrottlingBurstLimit: jsii.Number(WebhookBurstLimit),
				},
			},
		},
	})

	// API Gateway creates its execution log group on first use, unencrypted and
	// kept forever; declaring it first gives it the key and the retention.
	execLogs := awslogs.NewLogGroup(scope, jsii.String("ApiExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("API-Gateway-Execution-Logs_" + *rest.RestApiId() + "/" + st.Name),
		Retention:     st.LogRetention,
		EncryptionKey: keys.Logs,
		RemovalPolicy: st.RemovalPolicy(),
	})
	rest.DeploymentStage().Node().AddDependency(execLogs)

	validator := rest.AddRequestValidator(jsii.String("Validator"), &awsapigateway.RequestValidatorOptions{
		RequestValidatorName:      jsii.String("parameters-and-body"),
		ValidateRequestParameters: jsii.Bool(true),
		ValidateRequestBody:       jsii.Bool(true),
	})
	integration := func(fn awslambda.IFunction) awsapigateway.Integration {
		// AllowTestInvoke false: no extra invoke permission for the console's test stage.
		return awsapigateway.NewLambdaIntegration(fn, &awsapigateway.LambdaIntegrationOptions{
			Proxy: jsii.Bool(true), AllowTestInvoke: jsii.Bool(false),
		})
	}
	method := func(params ...string) *awsapigateway.MethodOptions {
		// Authentication is the application's: clinics sign requests (Standard
		// Webhooks) or present a bearer token; Meta signs with the app secret.
		opts := &awsapigateway.MethodOptions{
			AuthorizationType: awsapigateway.AuthorizationType_NONE,
			RequestValidator:  validator,
		}
		if len(params) > 0 {
			req := map[string]*bool{}
			for _, p := range params {
				req[p] = jsii.Bool(true)
			}
			opts.RequestParameters = &req
		}
		return opts
	}

	ehr := integration(ehrAPI)
	root := rest.Root()
	root.AddResource(jsii.String("v1"), nil).
		AddResource(jsii.String("{proxy+}"), nil).
		AddMethod(jsii.String("ANY"), ehr, method())
	root.AddResource(jsii.String("healthz"), nil).AddMethod(jsii.String("GET"), ehr, method())
	root.AddResource(jsii.String("openapi.yaml"), nil).AddMethod(jsii.String("GET"), ehr, method())
	// The front-desk console: pages (GET) and forms (POST), served by the same function.
	console := root.AddResource(jsii.String("console"), nil)
	console.AddMethod(jsii.String("ANY"), ehr, method())
	console.AddResource(jsii.String("{proxy+}"), nil).AddMethod(jsii.String("ANY"), ehr, method())

	hook := integration(webhook)
	wa := root.AddResource(jsii.String("webhooks"), nil).AddResource(jsii.String("whatsapp"), nil)
	// Meta's subscription handshake always carries these three; anything else is
	// rejected before it costs an invocation.
	wa.AddMethod(jsii.String("GET"), hook, method(
		"method.request.querystring.hub.mode",
		"method.request.querystring.hub.verify_token",
		"method.request.querystring.hub.challenge"))
	// Every notification is signed; unsigned posts never reach the function.
	wa.AddMethod(jsii.String("POST"), hook, method("method.request.header.X-Hub-Signature-256"))

	if st.DomainName != "" {
		rest.AddDomainName(jsii.String("Domain"), &awsapigateway.DomainNameOptions{
			DomainName:     jsii.String(st.DomainName),
			Certificate:    awscertificatemanager.Certificate_FromCertificateArn(scope, jsii.String("DomainCertificate"), jsii.String(st.CertificateArn)),
			EndpointType:   awsapigateway.EndpointType_REGIONAL,
			SecurityPolicy: awsapigateway.SecurityPolicy_TLS_1_2,
			// No BasePath: mapped at the root, so no prefix reaches the router.
		})
	}
	if st.WebACLArn != "" {
		awswafv2.NewCfnWebACLAssociation(scope, jsii.String("ApiWebAcl"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: rest.DeploymentStage().StageArn(),
			WebAclArn:   jsii.String(st.WebACLArn),
		})
	}
	return &API{Rest: rest, AccessLogs: accessLogs, ExecutionLogs: execLogs, Webhook: wa}
}
