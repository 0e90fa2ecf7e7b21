// Package eventpattern compiles Amazon EventBridge event patterns and
// matches them against events, offline, with EventBridge's semantics.
//
// kmsguard needs this to answer "which of last month's CloudTrail records
// would have raised an alert" before a rule is deployed; the only other
// oracle, the TestEventPattern API, needs credentials and one call per
// event.
//
// Semantics (Amazon EventBridge User Guide, "Creating event patterns",
// "Comparison operators", "Arrays in event patterns", "Matching null values
// and empty strings"; details from aws/event-ruler, the engine EventBridge
// uses, where the guide is silent):
//
//   - every field of the pattern must match (AND); the values listed for a
//     field are alternatives (OR); "$or" combines whole sub-patterns;
//   - strings match exactly, case-sensitively; null matches only null and
//     "" only the empty string; numbers match by value within ±5e9 and by
//     literal text beyond (event-ruler inserts both matchers);
//   - if the event value is an array, the field matches if any element
//     matches; objects inside arrays are matched element by element, so two
//     fields are never satisfied from different elements of one array;
//   - operators: prefix, suffix (each also with equals-ignore-case),
//     equals-ignore-case, wildcard, anything-but (value, list, prefix,
//     suffix, equals-ignore-case, wildcard), numeric, exists, cidr;
//   - operators test leaf values only: an object is not a value, so
//     exists:true does not match an object and exists:false matches an
//     absent field, an empty array, or a field holding only an object;
//   - anything-but matches a present value that is not excluded, of any type.
//
// Use Compile once per pattern and Match per event; Parse decodes JSON
// into the Value form Match reads, quickly and without panicking.
package eventpattern
