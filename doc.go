// Package entrasaml lets a Go web application offer "Sign in with Microsoft
// Entra ID" over SAML 2.0, as a service provider (SP) for one or many Entra
// enterprise applications.
//
// # Overview
//
// One [SP] serves one Entra enterprise application (for a SaaS vendor: one
// customer tenant). [New] loads the application's Federation Metadata XML
// and fails fast on anything unusable. [SP.AuthnRequestURL] starts
// SP-initiated sign-in with an HTTP-Redirect AuthnRequest; [SP.Verify]
// checks the Response that Entra posts to the ACS URL and returns a
// [Session]. Neither touches net/http: the verification core is pure, with
// one clock (Config.Now) and one place that remembers (Config.Store).
// Nothing reads the time on its own: [ParseMetadata] judges expiry only
// at the time given with [CheckExpiry].
//
//	sp, err := entrasaml.New(ctx, entrasaml.Config{
//		EntityID:    "https://acme.vendor.example/saml",
//		BaseURL:     "https://acme.vendor.example",
//		MetadataURL: entrasaml.EntraMetadataURL(tenantID, appID),
//	})
//	u, requestID, err := sp.AuthnRequestURL("/orders")   // redirect the browser to u
//	session, err := sp.Verify(ctx, r.PostFormValue("SAMLResponse"), requestID)
//
// # Entra setup
//
// In the Entra admin center, Enterprise applications > New application >
// Create your own application, then Single sign-on > SAML. In "Basic SAML
// Configuration":
//
//   - Identifier (Entity ID): Config.EntityID.
//   - Reply URL (Assertion Consumer Service URL): [SP.ACSURL], that is
//     Config.BaseURL + "/saml/acs".
//   - Sign on URL: the SP's sign-in endpoint, Config.BaseURL +
//     "/saml/login". Set it: without it, My Apps tiles and "Test this
//     application" post unsolicited responses, which Verify refuses unless
//     Config.AllowIdPInitiated is set.
//   - Logout URL: Config.BaseURL + "/saml/logout".
//
// [SP.EntraSettings] returns these values. The paths are configuration
// (Config.ACSPaths, LogoutPath, MetadataPath, LoginPath), so Reply URLs
// that customers' applications already have keep working; several ACS URLs
// may be accepted at once, and [SP.Paths] lists what to mount.
//
// Then copy the "App Federation Metadata Url" (it ends in ?appid=…) into
// Config.MetadataURL, or download the Federation Metadata XML into
// Config.Metadata. Do not use the tenant-level metadata: it lacks the
// application's own SAML signing certificate, and every response then fails
// with [ErrUnknownSigner]. Any of Entra's signing options works ("Sign SAML
// assertion", the default; "Sign SAML response"; "Sign SAML response and
// assertion"), with SHA-256; SHA-1 needs Config.AllowSHA1.
//
// # Security model
//
// The ACS endpoint is the front door to every account, so Verify trusts
// nothing it has not verified and fails closed:
//
//   - Keys come only from the IdP metadata. A certificate in a message's
//     KeyInfo only selects among them; an unknown one is [ErrUnknownSigner].
//   - The signature is checked before anything else is trusted: SignedInfo
//     in exclusive c14n form (the package's own, linear in the input),
//     RSA over it, then the digest of the signed element. Every value is
//     read from the canonical tree that was serialized and digested, a
//     detached copy, not from the message as posted. Signature wrapping is refused by
//     structure: one Assertion, a direct child of the Response; Signatures
//     only directly on the Response or that Assertion, with one Reference to
//     their parent's own ID; IDs unique and unqualified.
//   - Text is read whole: a comment or entity inside a NameID or attribute
//     value never truncates it.
//   - The algorithms are pinned: enveloped-signature + exclusive c14n, no
//     comments, XPath or XSLT; RSA-SHA256/384/512 with a key of at least
//     2048 bits; SHA-1 only on request.
//   - Encrypted assertions (Config.DecryptionKeys): a signed Response is
//     verified before anything is decrypted; an unsigned one costs at most
//     two RSA decryptions (one when the EncryptedKey names the
//     certificate); RSA-OAEP key transport only,
//     AES-128/256 in CBC or GCM mode; CBC needs a signed Response; every
//     decryption failure is one and the same error; the plaintext is
//     parsed as strictly as the input and the Assertion obeys every rule
//     above.
//   - Input is bounded before it is decoded (Config.MaxResponseSize), the
//     base64 is strict, and DTDs, entity declarations, trailing content and
//     deep nesting are refused, so entity expansion and external entities
//     cannot happen. Elements, attributes, namespace declarations, IDs
//     and comments are capped (far above what IdPs send) in one pass over
//     the bytes before anything is built, so every input is answered in
//     time linear in its size; canonicalization is linear too.
//   - Responses must answer a request this browser made (InResponseTo, the
//     same on the Response and the assertion, signed or not), be
//     addressed to this SP (Audience; Destination and Recipient: the ACS
//     URL the request named, and where the response was posted), come from
//     this IdP (Issuer), be within their validity window and not issued in
//     the future (with Config.ClockSkew), and be used once (Config.Store).
//
// Every failure is an [*Error] that matches exactly one sentinel with
// [errors.Is] and says in Reason what failed, for logs; show users a
// generic page. A non-Success status from Entra is a [*StatusError] with
// the AADSTS code, which is safe to show, and a hint for the administrator.
//
// # Single logout
//
// /saml/logout (Config.LogoutPath) ends the local session and, when the IdP metadata lists a
// logout URL, sends the browser to Entra with a LogoutRequest
// ([SP.LogoutRequestURL]); Entra's LogoutResponse and its own
// LogoutRequests (the user signed out of another application) come back to
// the same URL. A signed LogoutRequest from Entra ends every session of its
// NameID on every instance; an unsigned one only the session of the browser
// that carries it, when it matches. Logout messages must have been issued
// within Config.ClockSkew, and a signed LogoutRequest is accepted once. A
// sign-out that does not come from the application's own origin (logout
// CSRF) gets a confirmation page instead. After Entra's LogoutResponse the
// browser is redirected to a clean signed-out URL, so a reload does not
// replay it.
//
// # Events
//
// Every sign-in attempt at the ACS, sign-out, metadata refresh and
// certificate nearing expiry is an [Event] with a stable reason code
// ([ReasonCode]: "ok" or the sentinel's name), the customer's entity ID,
// the duration and the reference id shown on the error page. Config.Logger
// gets it as one record; Config.OnEvent, when set, gets it too, for
// metrics (module github.com/entrasaml/entrasaml/otelsaml) and audit.
//
// # Several instances
//
// The default [MemoryStore] remembers used assertions in one process. Behind
// a load balancer, give every instance the same shared Store, or a replay
// posted to another instance is accepted.
//
// # Beside the SP
//
// This package is one SP. What builds on it lives beside it, each importing
// only this package:
//
//   - github.com/entrasaml/entrasaml/tenants serves many customers, one SP
//     each, from one handler tree (routing by host or path prefix).
//   - github.com/entrasaml/entrasaml/onboard checks a customer's metadata
//     before it goes into a Config and reports every finding in plain
//     words; it reads the document with the same reader as [New].
//   - github.com/entrasaml/entrasaml/redisstore is a [Store] on Redis for
//     several instances; github.com/entrasaml/entrasaml/storetest checks
//     any Store.
//
// # Testing
//
// Package github.com/entrasaml/entrasaml/entratest is a fake Entra tenant
// for tests: signed metadata, Entra-shaped responses with every signing
// option, and an httptest server with a sign-on endpoint. Its IdP.SignIn
// signs a test client into a running app through the real flow in one
// call.
//
// # Other identity providers
//
// Entra is the first-class path, but the SP works with any SAML 2.0 IdP
// that signs its responses or assertions: Okta, Google Workspace, AD FS,
// Keycloak, PingFederate, OneLogin and JumpCloud are tested with their
// real metadata. An IdP that lists its sign-on URL for HTTP-POST only
// ([IdPMetadata].SignOnPOSTURL) gets the AuthnRequest from
// [SP.StartSignIn]'s auto-submitting page. [Session]'s typed fields are
// filled from Entra's claim URIs first, else from the names other IdPs
// commonly use (the table is in the Session documentation).
package entrasaml
