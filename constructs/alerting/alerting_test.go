package alerting

import (
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// A destination can never be built unlocked: Props without the deploy role that the locks exempt is refused
// (New panics on invalid props), so a second destination wired without Lock fails the synth instead of
// deploying a topic and key anyone in the account could silence.
func TestDestinationWithoutLockIsRefused(t *testing.T) {
	err := Props{Emails: []string{"dba@example.com"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Lock: DeployRoleArns: required") {
		t.Fatalf("want the missing lock refused, got %v", err)
	}
	ok := Props{Emails: []string{"dba@example.com"}, Lock: lockdown.Exemptions{DeployRoleArns: []string{"arn:aws:iam::111122223333:role/deploy"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("control: a locked destination is valid: %v", err)
	}
}
