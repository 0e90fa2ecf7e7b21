package managekey

import (
	"context"

	"github.com/kmsguard/kmsguard/internal/alertsubs"
)

// subscriptions adds the subscription check to the status block; it is skipped when no topic is known.
func subscriptions(ctx context.Context, o Options, d Deps, row func(k, v string)) {
	if len(o.TopicArns) == 0 || d.SNS == nil {
		return
	}
	for _, f := range alertsubs.Check(ctx, d.SNS, o.TopicArns) {
		what := alertsubs.TopicName(f.Topic)
		if f.Endpoint != "" {
			what += ": " + f.Endpoint
		}
		if f.Problem != "" {
			row("alerts", "WARNING "+what+": "+f.Problem+" — "+f.Detail)
		} else {
			row("alerts", what+": "+f.Detail)
		}
	}
}
