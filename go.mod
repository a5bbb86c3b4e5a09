module github.com/entrasaml/entrasaml

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/crewjam/saml v0.6.3
	github.com/russellhaering/goxmldsig v1.6.1
)

require (
	github.com/jonboulle/clockwork v0.5.0 // indirect
	golang.org/x/crypto v0.55.0 // indirect
)
