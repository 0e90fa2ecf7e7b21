package detection

// Tier is one class of alert. Each tier has its own rules, so that an operator can route, mute or replay
// them separately; the tier travels in each rule's metadata (kmsguard:tier) for kmsguard-replay.
type Tier struct {
	Name     string
	Severity string
	Meaning  string
	// AllManagementEvents sets the rule state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS. A rule in
	// state ENABLED never receives read-only management events, and KMS Decrypt and
	// GenerateDataKeyWithoutPlaintext (all the MariaDB plugin calls) are read-only.
	AllManagementEvents bool
}

var (
	KeyDanger = Tier{Name: "key-danger", Severity: "critical", AllManagementEvents: true,
		Meaning: "Someone changed who can use the MariaDB master key (its policy, grants, alias, or the credentials, sessions or roles of its users and administrator), or whether it exists, or a call on it failed."}
	Denied = Tier{Name: "denied", Severity: "critical", AllManagementEvents: true,
		Meaning: "A call on the MariaDB master key, on its audit pipeline or on the credentials of its users was refused (denied, or the key is disabled)."}
	AuditTamper = Tier{Name: "audit-tamper", Severity: "critical",
		Meaning: "Someone changed the audit pipeline that watches the MariaDB master key (trail, logs, alerts, the stack that made them)."}
	KeyUse = Tier{Name: "key-use", Severity: "info", AllManagementEvents: true,
		Meaning: "The MariaDB master key was used for a cryptographic operation. Expected when MariaDB starts or creates a table key; unexpected otherwise."}
)

func (t Tier) state() string {
	if t.AllManagementEvents {
		return "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
	}
	return "ENABLED"
}
