package detection

import (
	"encoding/json"
	"fmt"
	"strings"
)

// WatchdogID is the construct id (and name suffix) of the rule that watches the rules watching rule changes.
const WatchdogID = "audit-tamper-watchdog"

// RuleWatchers are the names of the audit-tamper rules whose patterns watch changes to EventBridge rules.
// Each of them reports a change to every kmsguard rule but its own effective change: a rule that has just
// been disabled, deleted or emptied of targets reports nothing more, including that.
func RuleWatchers(t Targets) []string {
	var names []string
	for i, p := range AuditTamperPatterns(t) {
		raw, _ := json.Marshal(p)
		if strings.Contains(string(raw), `"events.amazonaws.com"`) {
			names = append(names, fmt.Sprintf("%s-%s-%d", t.NamePrefix, AuditTamper.Name, i+1))
		}
	}
	return names
}

// WatchdogPattern matches a successful change to the named rules: disabling or deleting one, replacing its
// pattern, or changing its targets. With it, the two tamper routes watch each other: the watchdog is named
// NamePrefix-..., so the rule watchers report a change to it.
func WatchdogPattern(t Targets, watchers []string) map[string]any {
	return map[string]any{"detail-type": strs(apiCall), "detail": map[string]any{
		"eventSource": strs("events.amazonaws.com"),
		"errorCode":   succeeded,
		"$or": []any{
			map[string]any{"eventName": strs("DeleteRule", "DisableRule", "PutRule"), "requestParameters": map[string]any{"name": strs(watchers...)}},
			map[string]any{"eventName": strs("PutTargets", "RemoveTargets"), "requestParameters": map[string]any{"rule": strs(watchers...)}},
		},
	}}
}
