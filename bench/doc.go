// Package bench compares entrasaml with github.com/crewjam/saml and
// github.com/russellhaering/gosaml2 on identical Entra-shaped inputs. It is
// a module of its own, so that the library's go.mod does not require the
// peers.
//
// Setup (setup_test.go) makes a fake Entra tenant with entratest: signed
// federation metadata listing two signing certificates, and responses
// signed at the current time (RSA-2048/SHA-256, exclusive c14n, the usual
// Entra claims): the assertion signed, the same with 150 groups, and the
// response signed by the second certificate. Every library is configured
// from that metadata and must accept every response with the right NameID,
// and refuse each one with a character of the NameID changed, before
// anything is timed (TestPeers runs the same checks).
//
// Run the comparison with run.sh; see the README's Performance section.
//
// worst_test.go measures entrasaml alone on hostile input: BenchmarkWorst
// and BenchmarkWorstMetadata report the cost per KB of unsigned documents
// of every shape that used to cost quadratic time, as large as the default
// limits admit, next to a valid response and Entra's metadata;
// BenchmarkVerifyGroups reports the cost per group value of valid responses
// with 150, 1,500 and 5,000 groups.
package bench
