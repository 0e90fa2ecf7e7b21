package replay

import (
	"fmt"
	"io"
)

// WriteText prints the human-readable summary.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Read %d records from %d inputs; %d problems skipped.\n", s.Records, s.Files, s.Problems)
	if s.NotDelivered > 0 {
		fmt.Fprintf(w, "%d records have an eventType EventBridge does not receive.\n", s.NotDelivered)
	}
	fmt.Fprintf(w, "%d read-only management events (seen only by rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS).\n", s.ReadOnly)
	for _, t := range s.Tiers {
		fmt.Fprintf(w, "\ntier %s: %d events would alert\n", t.Tier, t.Events)
		writeTop(w, "event names", t.EventNames)
		writeTop(w, "principals", t.Principals)
	}
	fmt.Fprintln(w, "\nrules:")
	for _, r := range s.Rules {
		fmt.Fprintf(w, "  %-40s %-14s %-45s %d matched\n", r.LogicalID, r.Tier, r.State, r.Matched)
		if r.HiddenReadOnly > 0 {
			fmt.Fprintf(w, "    hint: %d read-only management events match this pattern but state %s never receives them; use ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS\n", r.HiddenReadOnly, r.State)
		}
	}
	if s.HiddenReadOnly > 0 {
		fmt.Fprintf(w, "\n%d read-only events matched a pattern but no rule that receives them.\n", s.HiddenReadOnly)
	}
}

func writeTop(w io.Writer, title string, list []Count) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintf(w, "  top %s:\n", title)
	for _, c := range list {
		fmt.Fprintf(w, "    %8d  %s\n", c.Count, c.Name)
	}
}
