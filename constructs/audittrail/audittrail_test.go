package audittrail

import (
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/lockdown"
)

func TestPropsRefuseAnUnknownObjectLockModeAndAMissingLock(t *testing.T) {
	err := Props{TrailName: "mariadb-encryption-key", LogRetentionDays: 365, ObjectLockMode: "governance"}.Validate()
	for _, want := range []string{`ObjectLockMode: "governance" is neither GOVERNANCE nor COMPLIANCE`, "Lock: DeployRoleArns: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	lock := lockdown.Exemptions{DeployRoleArns: []string{"arn:aws:iam::111122223333:role/deploy"}}
	for _, mode := range []string{ObjectLockGovernance, ObjectLockCompliance} {
		if err := (Props{TrailName: "mariadb-encryption-key", LogRetentionDays: 365, ObjectLockMode: mode, Lock: lock}).Validate(); err != nil {
			t.Errorf("control: %s: %v", mode, err)
		}
	}
}
