package test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/logfilter"
	"github.com/kmsguard/kmsguard/stacks"
)

// The fleet dashboard (docs/fleet.md, "Dashboard").

// dashboardBody is the home central stack's dashboard, its name and its body resolved as CloudFormation
// would in the aws partition (the body is an Fn::Join whose only references are AWS::Partition).
func dashboardBody(t *testing.T, s *FleetSynth, stack string) (string, map[string]any) {
	t.Helper()
	dashboards := s.resources(stack, "AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%s: %d dashboards, want 1", stack, len(dashboards))
	}
	for _, d := range dashboards {
		p := d["Properties"].(map[string]any)
		body := resolvePartition(t, p["DashboardBody"])
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("dashboard body is not JSON: %v", err)
		}
		return p["DashboardName"].(string), doc
	}
	return "", nil
}

func resolvePartition(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if x["Ref"] == "AWS::Partition" {
			return "aws"
		}
		if join, ok := x["Fn::Join"].([]any); ok && join[0] == "" {
			var b strings.Builder
			for _, part := range join[1].([]any) {
				b.WriteString(resolvePartition(t, part))
			}
			return b.String()
		}
	}
	t.Fatalf("dashboard body has a reference other than AWS::Partition: %v", v)
	return ""
}

// TestFleetDashboardIsInTheHomeCentralStackOnly: one dashboard, named after the stack and the home region,
// in the home central stack; the other region's central stack (the control) and the StackSet templates
// have none. At the longest names it passes the quota checker (synthFleet runs it).
func TestFleetDashboardIsInTheHomeCentralStackOnly(t *testing.T) {
	s := synthFleet(t, "fleet")
	name, _ := dashboardBody(t, s, "KmsGuard-Central-us-east-1")
	if name != "KmsGuard-fleet-us-east-1" {
		t.Errorf("dashboard name %q", name)
	}
	for _, n := range s.Stacks[1:] {
		if got := len(s.resources(n, "AWS::CloudWatch::Dashboard")); got != 0 {
			t.Errorf("control: %s has %d dashboards", n, got)
		}
	}
	for _, cfg := range []string{"fleet-longest", "fleet-orgtrail-longest"} {
		l := synthFleet(t, cfg)
		name, _ := dashboardBody(t, l, l.Stacks[0])
		if want := l.Fleet.Config.StackName + "-fleet-" + l.Fleet.Config.HomeRegion(); name != want || len(name) > 255 {
			t.Errorf("%s: dashboard %q, want %q", cfg, name, want)
		}
	}
}

// dashboardMisses lists every central rule and alarm of every central template that the dashboard body
// does not show in that template's region: each rule's TriggeredRules and FailedInvocations metric (with
// EventBusName on a tier bus, RuleName alone on the default bus), each alarm's ARN, each dead-letter
// alarm's own widget, and the region's topics by its stack name.
func dashboardMisses(s *FleetSynth, body map[string]any) []string {
	var misses []string
	type seen struct{ metrics, arns, alarmWidgets, searches map[string]bool }
	got := seen{map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}}
	for _, w := range body["widgets"].([]any) {
		p := w.(map[string]any)["properties"].(map[string]any)
		region, _ := p["region"].(string)
		metrics, _ := p["metrics"].([]any)
		for _, m := range metrics {
			row := m.([]any)
			last, _ := row[len(row)-1].(map[string]any)
			if expr, ok := last["expression"].(string); ok && strings.HasPrefix(expr, "SEARCH(") {
				got.searches[region+" "+expr] = true
			}
			if ns, ok := row[0].(string); ok && ns == "AWS/Events" {
				dims := map[string]string{}
				for i := 2; i+1 < len(row); i += 2 {
					if k, ok := row[i].(string); ok {
						dims[k] = fmt.Sprint(row[i+1])
					}
				}
				r := region
				if last != nil && last["region"] != nil {
					r = last["region"].(string)
				}
				got.metrics[fmt.Sprintf("%s %s %s bus=%s", r, row[1], dims["RuleName"], dims["EventBusName"])] = true
			}
		}
		if ann, ok := p["annotations"].(map[string]any); ok {
			for _, a := range ann["alarms"].([]any) {
				got.alarmWidgets[region+" "+a.(string)] = true
			}
		}
		if alarms, ok := p["alarms"].([]any); ok {
			for _, a := range alarms {
				got.arns[a.(string)] = true
			}
		}
	}
	for _, stack := range s.Stacks {
		if !strings.Contains(stack, "-Central-") {
			continue
		}
		region := strings.TrimPrefix(stack, "KmsGuard-Central-")
		for _, r := range s.resources(stack, "AWS::Events::Rule") {
			p := r["Properties"].(map[string]any)
			bus := ""
			if p["EventBusName"] != nil {
				bus = "KmsGuard-" + r["Metadata"].(map[string]any)["kmsguard:tier"].(string)
			}
			for _, metric := range []string{"TriggeredRules", "FailedInvocations"} {
				if key := fmt.Sprintf("%s %s %s bus=%s", region, metric, p["Name"], bus); !got.metrics[key] {
					misses = append(misses, key)
				}
			}
		}
		for _, a := range s.resources(stack, "AWS::CloudWatch::Alarm") {
			name := a["Properties"].(map[string]any)["AlarmName"].(string)
			arn := "arn:aws:cloudwatch:" + region + ":999988887777:alarm:" + name
			if !got.arns[arn] {
				misses = append(misses, "alarm "+arn)
			}
			if strings.HasSuffix(name, "UndeliveredAlerts") && !got.alarmWidgets[region+" "+arn] {
				misses = append(misses, "dead-letter alarm widget "+arn)
			}
		}
		for _, metric := range []string{"NumberOfNotificationsDelivered", "NumberOfNotificationsFailed"} {
			search := fmt.Sprintf(`%s SEARCH('{AWS/SNS,TopicName} MetricName="%s" %s', 'Sum', 300)`, region, metric, stack)
			if !got.searches[search] {
				misses = append(misses, search)
			}
		}
	}
	sort.Strings(misses)
	return misses
}

// TestFleetDashboardShowsEveryRegionsRulesTopicsAndAlarms: for every central stack, every rule (on a tier
// bus or the default bus) is graphed in its region by the metric dimensions EventBridge publishes for its
// bus, every alarm is in the region's alarm status widget by ARN, each dead-letter alarm has its own graph,
// and the region's topics are searched by the central stack's name. The control drops the second region's
// widgets from the body: the same check must then name that region's rules and alarms.
func TestFleetDashboardShowsEveryRegionsRulesTopicsAndAlarms(t *testing.T) {
	s := synthFleet(t, "fleet")
	_, body := dashboardBody(t, s, "KmsGuard-Central-us-east-1")
	if misses := dashboardMisses(s, body); len(misses) > 0 {
		t.Errorf("the dashboard does not show:\n%s", strings.Join(misses, "\n"))
	}
	var kept []any
	for _, w := range body["widgets"].([]any) {
		if raw, _ := json.Marshal(w); !strings.Contains(string(raw), "eu-west-1") {
			kept = append(kept, w)
		}
	}
	misses := dashboardMisses(s, map[string]any{"widgets": kept})
	euRules := 0
	for _, m := range misses {
		if strings.HasPrefix(m, "eu-west-1 TriggeredRules ") {
			euRules++
		}
	}
	if want := len(s.resources("KmsGuard-Central-eu-west-1", "AWS::Events::Rule")); euRules != want || want == 0 {
		t.Errorf("control: without eu-west-1's widgets the check names %d of its %d rules", euRules, want)
	}
	if !slices.ContainsFunc(misses, func(m string) bool {
		return strings.Contains(m, ":eu-west-1:999988887777:alarm:KmsGuard-UndeliveredAlerts")
	}) {
		t.Error("control: without eu-west-1's widgets the check does not name its dead-letter alarm")
	}
}

// dashboardBodyProblems checks a body against the documented dashboard body structure (Dashboard Body
// Structure and Syntax, docs/aws-facts.md "Fleet"): a widgets array; each widget a known type, on the
// 24-column grid, with properties; a metric widget with a region and either metrics or an alarm
// annotation and at most 100 metrics and expressions; an alarm widget with 1 to 100 alarm ARNs; a text
// widget with markdown; expression ids unique within a widget; no two widgets on the same cell.
func dashboardBodyProblems(body map[string]any) []string {
	var out []string
	widgets, ok := body["widgets"].([]any)
	if !ok || len(widgets) == 0 {
		return []string{"no widgets array"}
	}
	arn := regexp.MustCompile(`^arn:aws:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:[A-Za-z0-9_.-]+$`)
	cells := map[[2]int]int{}
	for i, raw := range widgets {
		w := raw.(map[string]any)
		num := func(k string) int { f, _ := w[k].(float64); return int(f) }
		x, y, width, height := num("x"), num("y"), num("width"), num("height")
		if width < 1 || width > 24 || x < 0 || x+width > 24 || height < 1 || height > 1000 || y < 0 {
			out = append(out, fmt.Sprintf("widget %d: off the grid (x %d y %d width %d height %d)", i, x, y, width, height))
		}
		for dx := x; dx < x+width; dx++ {
			for dy := y; dy < y+height; dy++ {
				if j, taken := cells[[2]int{dx, dy}]; taken {
					out = append(out, fmt.Sprintf("widget %d overlaps widget %d", i, j))
					dy, dx = y+height, x+width
					continue
				}
				cells[[2]int{dx, dy}] = i
			}
		}
		p, _ := w["properties"].(map[string]any)
		if p == nil {
			out = append(out, fmt.Sprintf("widget %d: no properties", i))
			continue
		}
		switch w["type"] {
		case "text":
			if md, _ := p["markdown"].(string); md == "" {
				out = append(out, fmt.Sprintf("widget %d: text without markdown", i))
			}
		case "alarm":
			alarms, _ := p["alarms"].([]any)
			if len(alarms) < 1 || len(alarms) > 100 {
				out = append(out, fmt.Sprintf("widget %d: %d alarms, want 1 to 100", i, len(alarms)))
			}
			for _, a := range alarms {
				if s, _ := a.(string); !arn.MatchString(s) {
					out = append(out, fmt.Sprintf("widget %d: %v is not an alarm ARN", i, a))
				}
			}
		case "metric":
			if r, _ := p["region"].(string); r == "" {
				out = append(out, fmt.Sprintf("widget %d: metric widget without region", i))
			}
			metrics, _ := p["metrics"].([]any)
			ann, _ := p["annotations"].(map[string]any)
			if len(metrics) == 0 && (ann == nil || ann["alarms"] == nil) {
				out = append(out, fmt.Sprintf("widget %d: metric widget without metrics or alarm", i))
			}
			if len(metrics) > 100 {
				out = append(out, fmt.Sprintf("widget %d: %d metrics and expressions, over 100", i, len(metrics)))
			}
			ids := map[string]bool{}
			for _, m := range metrics {
				row := m.([]any)
				opts, _ := row[len(row)-1].(map[string]any)
				if id, _ := opts["id"].(string); id != "" {
					if ids[id] {
						out = append(out, fmt.Sprintf("widget %d: metric id %s twice", i, id))
					}
					ids[id] = true
				}
			}
		default:
			out = append(out, fmt.Sprintf("widget %d: type %v", i, w["type"]))
		}
	}
	return out
}

// TestFleetDashboardBodyFollowsTheBodyStructure: the home dashboard's body, with and without the
// per-account section, has no problem dashboardBodyProblems finds; the controls are the same body with a
// widget widened past the grid and an alarm widget emptied, each of which it must report.
func TestFleetDashboardBodyFollowsTheBodyStructure(t *testing.T) {
	for _, cfg := range []string{"fleet", "fleet-orgtrail"} {
		s := synthFleet(t, cfg)
		_, body := dashboardBody(t, s, s.Stacks[0])
		if p := dashboardBodyProblems(body); len(p) > 0 {
			t.Errorf("%s: %s", cfg, strings.Join(p, "; "))
		}
	}
	s := synthFleet(t, "fleet")
	mutate := func(f func(widgets []any)) []string {
		_, body := dashboardBody(t, s, s.Stacks[0])
		f(body["widgets"].([]any))
		return dashboardBodyProblems(body)
	}
	if p := mutate(func(ws []any) { ws[0].(map[string]any)["width"] = 25.0 }); !strings.Contains(fmt.Sprint(p), "off the grid") {
		t.Errorf("control: a 25-column widget was not reported: %v", p)
	}
	if p := mutate(func(ws []any) {
		for _, w := range ws {
			if w.(map[string]any)["type"] == "alarm" {
				w.(map[string]any)["properties"].(map[string]any)["alarms"] = []any{}
				return
			}
		}
	}); !strings.Contains(fmt.Sprint(p), "0 alarms") {
		t.Errorf("control: an empty alarm widget was not reported: %v", p)
	}
}

// TestFleetDashboardCountsMemberAccountsWithoutListingThem: with orgTrailLogGroup the home central stack
// has the per-account metric filters on that log group, each with the Account dimension from
// recipientAccountId and no default value, and the dashboard queries each metric grouped by that dimension
// (no account id in the template but the security account's). A member's server user calling KMS is
// counted under the member's account, matched with internal/logfilter; another user's call (the control)
// is not. A fleet without orgTrailLogGroup (the control) has no such filter and no query.
func TestFleetDashboardCountsMemberAccountsWithoutListingThem(t *testing.T) {
	s := synthFleet(t, "fleet-orgtrail")
	cfg := s.Fleet.Config
	home := s.Stacks[0]
	byName := map[string]map[string]any{}
	for _, r := range s.resources(home, "AWS::Logs::MetricFilter") {
		p := r["Properties"].(map[string]any)
		byName[p["FilterName"].(string)] = p
	}
	_, body := dashboardBody(t, s, home)
	raw, _ := json.Marshal(body)
	for _, f := range stacks.FleetAccountFilters(cfg) {
		p := byName[cfg.StackName+"-"+f.ID]
		if p == nil {
			t.Fatalf("no %s filter in %s", f.ID, home)
		}
		if p["LogGroupName"] != cfg.Fleet.OrgTrailLogGroup {
			t.Errorf("%s on %v", f.ID, p["LogGroupName"])
		}
		tr := p["MetricTransformations"].([]any)[0].(map[string]any)
		dims, _ := json.Marshal(tr["Dimensions"])
		if string(dims) != `[{"Key":"Account","Value":"$.recipientAccountId"}]` || tr["DefaultValue"] != nil {
			t.Errorf("%s: dimensions %s, default value %v", f.ID, dims, tr["DefaultValue"])
		}
		query := stacks.AccountQuery("kmsguard/"+cfg.StackName, f.MetricName)
		if !strings.Contains(string(raw), strings.ReplaceAll(query, `"`, `\"`)) {
			t.Errorf("the dashboard has no query %s", query)
		}
	}
	if !strings.Contains(stacks.AccountQuery("kmsguard/KmsGuard", "M"), `FROM SCHEMA("kmsguard/KmsGuard", Account) GROUP BY Account`) {
		t.Error("the per-account query does not group by the Account dimension")
	}
	for _, acct := range regexp.MustCompile(`\b[0-9]{12}\b`).FindAllString(string(s.Files[home]), -1) {
		if acct != "999988887777" {
			t.Errorf("the home template names account %s", acct)
		}
	}

	filter, err := logfilter.Parse(filterPattern(t, stacks.FleetAccountFilters(cfg), "KeyUserCallsByAccount"))
	if err != nil {
		t.Fatal(err)
	}
	record := func(user string) map[string]any {
		return map[string]any{
			"eventVersion": "1.08", "eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "awsRegion": "eu-central-1",
			"recipientAccountId": "111122223333", "readOnly": true,
			"userIdentity": map[string]any{"type": "IAMUser", "accountId": "111122223333", "userName": user,
				"arn": "arn:aws:iam::111122223333:user/" + user},
		}
	}
	if ok, err := filter.Match(record(cfg.ServerUserName)); err != nil || !ok {
		t.Errorf("the member's server user's Decrypt is not counted: %v", err)
	}
	if acct, err := logfilter.DimensionValue("$.recipientAccountId", record(cfg.ServerUserName)); err != nil || acct != "111122223333" {
		t.Errorf("counted under account %q (%v), want the member's", acct, err)
	}
	if ok, _ := filter.Match(record("someone-else")); ok {
		t.Error("control: another user's Decrypt is counted")
	}

	plain := synthFleet(t, "fleet")
	_, plainBody := dashboardBody(t, plain, plain.Stacks[0])
	if raw, _ := json.Marshal(plainBody); strings.Contains(string(raw), "SELECT ") {
		t.Error("control: a fleet without orgTrailLogGroup queries per-account metrics")
	}
	if n := len(plain.resources(plain.Stacks[0], "AWS::Logs::MetricFilter")); n != 0 {
		t.Errorf("control: a fleet without orgTrailLogGroup has %d metric filters", n)
	}
}

// TestFleetDashboardPropsReportEveryProblemByField: invalid props are refused with every field named at
// once, in field order; the control is the props the fleet builds, which pass.
func TestFleetDashboardPropsReportEveryProblemByField(t *testing.T) {
	s := synthFleet(t, "fleet")
	good := stacks.FleetDashboardPropsFor(s.Fleet.Config, s.Fleet.Central)
	if err := good.Validate(); err != nil {
		t.Fatalf("control: the fleet's own props are refused: %v", err)
	}
	bad := stacks.FleetDashboardProps{Name: "bad name", Account: "12", Regions: []stacks.FleetRegionPanel{{Region: "eu-west-1"}},
		Accounts: &stacks.FleetAccountPanel{}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid props accepted")
	}
	msg := err.Error()
	order := []string{"Name ", "Account ", "Regions[0].StackName", "Regions[0].Tiers", "Accounts:"}
	last := -1
	for _, field := range order {
		i := strings.Index(msg, field)
		if i < 0 || i < last {
			t.Errorf("%q missing or out of order in:\n%s", field, msg)
		}
		last = i
	}
}
