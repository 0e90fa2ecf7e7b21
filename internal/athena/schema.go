package athena

import "strings"

// colKind is the Hive type of a column or struct field of the CloudTrail table.
type colKind uint8

const (
	kString      colKind = iota // STRING holding a JSON string (or the text of another scalar)
	kBool                       // STRING holding a JSON boolean as "true"/"false" (readOnly)
	kJSON                       // STRING holding the JSON text of an object (requestParameters, ...)
	kStruct                     // STRUCT<...>
	kStructArray                // ARRAY<STRUCT<...>>
	kMap                        // MAP<STRING,STRING>
)

// col is one column or struct field. Key is the CloudTrail record's
// spelling (EventBridge patterns name fields case-sensitively); the Hive
// name is its lower case, as the table's JSON SerDe maps keys.
type col struct {
	Key    string
	Kind   colKind
	Fields []col // kStruct, kStructArray
}

func (c col) name() string { return strings.ToLower(c.Key) }

func str(k string) col               { return col{Key: k, Kind: kString} }
func jsonText(k string) col          { return col{Key: k, Kind: kJSON} }
func strct(k string, f ...col) col   { return col{Key: k, Kind: kStruct, Fields: f} }
func structs(k string, f ...col) col { return col{Key: k, Kind: kStructArray, Fields: f} }

// cloudTrailColumns is the table of AWS's "Create the table for CloudTrail
// logs in Athena using partition projection" (Amazon Athena User Guide;
// docs/replay.md, "Athena"), column for column and type for type, with the
// record's key spellings. readOnly is a JSON boolean in the records
// ("CloudTrail record contents"); the table reads it as text.
var cloudTrailColumns = []col{
	str("eventVersion"),
	strct("userIdentity",
		str("type"), str("principalId"), str("arn"), str("accountId"), str("invokedBy"), str("accessKeyId"), str("userName"),
		strct("onBehalfOf", str("userId"), str("identityStoreArn")),
		strct("sessionContext",
			strct("attributes", str("mfaAuthenticated"), str("creationDate")),
			strct("sessionIssuer", str("type"), str("principalId"), str("arn"), str("accountId"), str("userName")),
			str("ec2RoleDelivery"),
			strct("webIdFederationData", str("federatedProvider"), col{Key: "attributes", Kind: kMap}),
		),
	),
	str("eventTime"),
	str("eventSource"),
	str("eventName"),
	str("awsRegion"),
	str("sourceIPAddress"),
	str("userAgent"),
	str("errorCode"),
	str("errorMessage"),
	jsonText("requestParameters"),
	jsonText("responseElements"),
	jsonText("additionalEventData"),
	str("requestID"),
	str("eventID"),
	col{Key: "readOnly", Kind: kBool},
	structs("resources", str("ARN"), str("accountId"), str("type")),
	str("eventType"),
	str("apiVersion"),
	str("recipientAccountId"),
	jsonText("serviceEventDetails"),
	str("sharedEventID"),
	str("vpcEndpointId"),
	str("vpcEndpointAccountId"),
	str("eventCategory"),
	strct("addendum", str("reason"), str("updatedFields"), str("originalRequestID"), str("originalEventID")),
	str("sessionCredentialFromConsole"),
	jsonText("edgeDeviceDetails"),
	strct("tlsDetails", str("tlsVersion"), str("cipherSuite"), str("clientProvidedHostHeader")),
}

// lookup finds a field by the record's exact spelling.
func lookup(cols []col, key string) (col, bool) {
	for _, c := range cols {
		if c.Key == key {
			return c, true
		}
	}
	return col{}, false
}

// near returns the known spelling that differs from key only in case, for
// an error message.
func near(cols []col, key string) string {
	for _, c := range cols {
		if strings.EqualFold(c.Key, key) {
			return c.Key
		}
	}
	return ""
}

// hiveType renders a column type for the CREATE TABLE statement.
func (c col) hiveType() string {
	switch c.Kind {
	case kStruct:
		return "STRUCT<" + hiveFields(c.Fields) + ">"
	case kStructArray:
		return "ARRAY<STRUCT<" + hiveFields(c.Fields) + ">>"
	case kMap:
		return "MAP<STRING,STRING>"
	default:
		return "STRING"
	}
}

func hiveFields(fs []col) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.name() + ": " + f.hiveType()
	}
	return strings.Join(parts, ", ")
}
