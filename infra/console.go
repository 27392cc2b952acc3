package main

import (
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
)

// Context keys for the console's sign-in.
const (
	// CtxConsoleClinics lists clinic ids (comma-separated) whose staff groups the
	// stack creates; groups for clinics onboarded later are added with the CLI
	// (README deploy guide).
	CtxConsoleClinics = "consoleClinics"
	// CtxConsoleDomainPrefix is the managed login domain's prefix
	// (<prefix>.auth.<region>.amazoncognito.com), unique per region; default
	// frontdesk-<stage>-<account id>.
	CtxConsoleDomainPrefix = "consoleDomainPrefix"
)

// ConsoleAuth is the staff sign-in: a Cognito user pool with managed login and MFA,
// a public app client (code flow with PKCE) for the console, and one group per clinic.
type ConsoleAuth struct {
	Pool   awscognito.UserPool
	Client awscognito.UserPoolClient
	Domain awscognito.UserPoolDomain
	Groups map[string]awscognito.UserPoolGroup
}

// consoleBaseURL is where browsers reach the API: the custom domain, or the
// execute-api URL with its stage path.
func (f *Frontdesk) consoleBaseURL() *string {
	if f.Stage.DomainName != "" {
		return jsii.String("https://" + f.Stage.DomainName)
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), f.API.Rest.RestApiId(),
		jsii.String(".execute-api."), awscdk.Aws_REGION(), jsii.String("."), awscdk.Aws_URL_SUFFIX(), jsii.String("/" + f.Stage.Name)})
}

func (f *Frontdesk) newConsoleAuth(clinics []string, domainPrefix string) *ConsoleAuth {
	st, scope := f.Stage, f.Stack
	pool := awscognito.NewUserPool(scope, jsii.String("StaffUserPool"), &awscognito.UserPoolProps{
		UserPoolName: jsii.String(st.Prefix() + "staff"),
		// Staff are invited by an administrator; nobody signs themselves up.
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email:    &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
			Fullname: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		// An authenticator app: SMS would need an SNS role and is weaker.
		Mfa:             awscognito.Mfa_REQUIRED,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		PasswordPolicy: &awscognito.PasswordPolicy{MinLength: jsii.Number(12), RequireDigits: jsii.Bool(true),
			RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3))},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:        awscognito.FeaturePlan_ESSENTIALS, // managed login pages
		DeletionProtection: jsii.Bool(st.Retain),
		RemovalPolicy:      st.RemovalPolicy(),
	})
	prefix := jsii.String(domainPrefix)
	if domainPrefix == "" {
		prefix = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("frontdesk-" + st.Name + "-"), awscdk.Aws_ACCOUNT_ID()})
	}
	domain := pool.AddDomain(jsii.String("ManagedLogin"), &awscognito.UserPoolDomainOptions{
		CognitoDomain:       &awscognito.CognitoDomainOptions{DomainPrefix: prefix},
		ManagedLoginVersion: awscognito.ManagedLoginVersion_NEWER_MANAGED_LOGIN,
	})
	base := f.consoleBaseURL()
	join := func(parts ...*string) *string { return awscdk.Fn_Join(jsii.String(""), &parts) }
	client := pool.AddClient(jsii.String("ConsoleClient"), &awscognito.UserPoolClientOptions{
		UserPoolClientName: jsii.String(st.Prefix() + "console"),
		// A public client: the console proves possession with PKCE, so there is no
		// client secret to store, rotate or leak.
		GenerateSecret: jsii.Bool(false),
		AuthFlows:      &awscognito.AuthFlow{},
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: &[]*string{join(base, jsii.String("/console/callback"))},
			LogoutUrls:   &[]*string{join(base, jsii.String("/console/signed-out"))},
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		// The console keeps its own session (12 h at most) and never uses these
		// tokens after sign-in; short lifetimes limit a leaked one.
		IdTokenValidity:      awscdk.Duration_Minutes(jsii.Number(15)),
		AccessTokenValidity:  awscdk.Duration_Minutes(jsii.Number(15)),
		RefreshTokenValidity: awscdk.Duration_Hours(jsii.Number(12)),
		AuthSessionValidity:  awscdk.Duration_Minutes(jsii.Number(5)),
	})
	// Managed login pages need a style; Cognito's defaults suit.
	awscognito.NewCfnManagedLoginBranding(scope, jsii.String("ManagedLoginBranding"), &awscognito.CfnManagedLoginBrandingProps{
		UserPoolId: pool.UserPoolId(), ClientId: client.UserPoolClientId(), UseCognitoProvidedValues: jsii.Bool(true),
	})
	groups := map[string]awscognito.UserPoolGroup{}
	for _, id := range clinics {
		groups[id] = pool.AddGroup(jsii.String("ClinicGroup"+logicalID(id)), &awscognito.UserPoolGroupOptions{
			GroupName:   jsii.String(httpapi.ClinicGroupPrefix + id),
			Description: jsii.String("Front-desk staff of clinic " + id),
		})
	}

	fn := f.Functions[FnEHRAPI].Fn
	fn.AddEnvironment(jsii.String(fnspec.EnvConsoleBaseURL), base, nil)
	fn.AddEnvironment(jsii.String(fnspec.EnvConsoleIssuer), join(jsii.String("https://cognito-idp."), awscdk.Aws_REGION(),
		jsii.String("."), awscdk.Aws_URL_SUFFIX(), jsii.String("/"), pool.UserPoolId()), nil)
	fn.AddEnvironment(jsii.String(fnspec.EnvConsoleClientID), client.UserPoolClientId(), nil)
	fn.AddEnvironment(jsii.String(fnspec.EnvConsoleLogoutURL), join(domain.BaseUrl(nil), jsii.String("/logout?client_id="),
		client.UserPoolClientId(), jsii.String("&logout_uri="), base, jsii.String("/console/signed-out")), nil)
	return &ConsoleAuth{Pool: pool, Client: client, Domain: domain, Groups: groups}
}

// consoleClinics reads the clinic ids whose groups the stack declares.
func consoleClinics(raw string) []string {
	var out []string
	for _, id := range strings.Split(raw, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

const consoleAuthReason = "The console's routes are browser pages: the application authenticates them with its own " +
	"session cookie, created after an OpenID Connect sign-in against the stack's Cognito user pool (MFA required), and " +
	"authorizes every clinic page per staff member; an API Gateway Cognito authorizer cannot read a cookie session."

// consoleSuppressions are the accepted findings on the console's resources.
func consoleSuppressions() []Suppression {
	s := []Suppression{
		{Rule: "AwsSolutions-COG8", Path: "StaffUserPool",
			Reason: "Threat protection needs Cognito's paid Plus feature plan; the pool is on Essentials (managed login) and " +
				"requires MFA with an authenticator app, a 12-character password policy and admin-only sign-up. Switch " +
				"FeaturePlan to PLUS and enforce threat protection where the budget allows."},
	}
	for _, m := range []string{"console/ANY", "console/{proxy+}/ANY"} {
		for _, rule := range []string{"AwsSolutions-APIG4", "AwsSolutions-COG4"} {
			s = append(s, Suppression{Rule: rule, Path: "Api/Default/" + m, Reason: consoleAuthReason})
		}
	}
	return s
}

// contextString reads a string context value ("" when unset).
func contextString(scope awscdk.Stack, key string) string {
	v, _ := scope.Node().TryGetContext(jsii.String(key)).(string)
	return v
}
