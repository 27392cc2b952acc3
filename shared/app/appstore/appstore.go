// Package appstore builds a function's DynamoDB store from its environment. It is
// apart from package app so that a function without tables (the WhatsApp webhook)
// does not link the DynamoDB client, whose package init every cold start pays.
package appstore

import (
	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Load reads TABLE_PREFIX and SWEEP_SHARDS and builds the store. A missing prefix
// is reported with the function's other configuration problems by a.Ready.
//
// The shard count must be the same in every function: the writers (ehr-api,
// inbound) place scheduled reminders in dueShard N and the sweep reads shards
// 0..N-1, so it is read here once with one default.
func Load(a *app.App) *dynamo.Store {
	prefix := a.Env.Required(platform.EnvTablePrefix)
	shards := a.Env.Int(platform.EnvSweepShards, app.DefaultSweepShards)
	return dynamo.NewStore(dynamo.NewClient(a.AWS), dynamo.NamesWithPrefix(prefix), a.Clock, shards)
}
