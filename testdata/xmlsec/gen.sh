#!/usr/bin/env bash
# Generates the Entra ID SAML test fixtures in testdata/, signed and verified
# with xmlsec1 (the reference XML-DSig implementation), independently of the
# Go code under test. See testdata/xmlsec/README.md.
#
# Run from the repository root:   bash testdata/xmlsec/gen.sh
# Fresh keys (changes every signed output):   REGEN_KEYS=1 bash testdata/xmlsec/gen.sh
#
# Needs: bash, perl, openssl, xmlsec1 (Debian package xmlsec1), go.
set -euo pipefail

if [[ ! -f go.mod || ! -d testdata/xmlsec ]]; then
	echo "gen.sh: run from the repository root: bash testdata/xmlsec/gen.sh" >&2
	exit 1
fi
for tool in perl openssl xmlsec1 go; do
	command -v "$tool" >/dev/null || { echo "gen.sh: $tool not found" >&2; exit 1; }
done

TD=testdata
SRC=testdata/xmlsec
TPL=$SRC/templates
KEYS=$TD/keys
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------
# Fixed values (also written to testdata/fixtures.json; keep README in sync).
# ---------------------------------------------------------------------------
TENANT_ID=b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43
IDP_ENTITY_ID=https://sts.windows.net/$TENANT_ID/
SAML2_URL=https://login.microsoftonline.com/$TENANT_ID/saml2
WSFED_URL=https://login.microsoftonline.com/$TENANT_ID/wsfed
APP_ID=0d8e1f2a-6b3c-4d5e-8f9a-1b2c3d4e5f60
METADATA_URL="https://login.microsoftonline.com/$TENANT_ID/federationmetadata/2007-06/federationmetadata.xml?appid=$APP_ID"

SP_ENTITY_ID=https://acme.vendor.example/saml
SP_BASE_URL=https://acme.vendor.example
ACS_URL=https://acme.vendor.example/saml/acs

AUTHN_REQUEST_ID=_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e
NOW=2026-11-20T10:01:00Z
ISSUE_INSTANT=2026-11-20T10:00:00.123Z
NOT_BEFORE=2026-11-20T10:00:00.123Z
NOT_ON_OR_AFTER=2026-11-20T11:10:00.123Z
SCD_NOT_ON_OR_AFTER=2026-11-20T10:05:00.123Z
AUTHN_INSTANT=2026-11-20T09:59:58.000Z
SESSION_INDEX=_3e6a9c2f-7b1d-4f5e-a8c0-9d2b4e6f1a35
AUTHN_CONTEXT_CLASS=urn:oasis:names:tc:SAML:2.0:ac:classes:Password

NAMEID_FORMAT=urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress
NAMEID=adele.vance@contoso.example
UPN=adele.vance@contoso.example
EMAIL=adele.vance@contoso.example
OBJECT_ID=5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10
DISPLAY_NAME="Adele Vance"
GIVEN_NAME=Adele
SURNAME=Vance
IDENTITY_PROVIDER=$IDP_ENTITY_ID
AUTHN_METHOD=http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password
GROUP_IDS=(0b7cc495-fc1e-480d-9bb6-c289fda37380 4b4accf6-f84c-431f-8025-4718eec9aa05 d7088b56-da9e-4ae4-8aec-d8cae542a2da)
ROLES=(Admin Reader)

STATUS_REQUESTER=urn:oasis:names:tc:SAML:2.0:status:Requester
STATUS_REQUEST_UNSUPPORTED=urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported
STATUS_MESSAGE="AADSTS50105: Your administrator has configured the application Acme Shipping ('$APP_ID') to block users unless they are specifically granted ('assigned') access to the application."

OTHER_IDP_ENTITY_ID=http://www.okta.com/exk1abcd
OTHER_IDP_SSO_URL=https://example.okta.com/app/x/sso/saml

# Document IDs ("_" + GUID; fixed so that re-running reproduces the files).
MD_ID_MAIN=_96e8e011-1090-4986-afb7-5dd8e3a40e30
MD_ID_TENANT=_ba0225d2-471e-47d5-81d2-690860b22bd8
MD_ID_WEAK=_414c7834-0fae-42be-bd22-1d2134568a63
MD_ID_EXPIRED=_1c941a9f-6d2b-4a97-a20c-8c045b20bb16

RSA_SHA256=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
SHA256=http://www.w3.org/2001/04/xmlenc#sha256
RSA_SHA1=http://www.w3.org/2000/09/xmldsig#rsa-sha1
SHA1=http://www.w3.org/2000/09/xmldsig#sha1

ID_ATTRS=(
	--id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor
	--id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion
	--id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response
)

# ---------------------------------------------------------------------------
# Keys and certificates (kept when present, so outputs are reproducible).
# ---------------------------------------------------------------------------
ENTRA_CN="Microsoft Azure Federated SSO Certificate"
TENANT_CN="accounts.accesscontrol.windows.net"
FORCE=()
[[ "${REGEN_KEYS:-}" == 1 ]] && FORCE=(-force)
gencert() { # name cn bits notBefore notAfter
	go run ./testdata/xmlsec/gencert -out "$KEYS" -name "$1" -cn "$2" -bits "$3" \
		-not-before "$4" -not-after "$5" "${FORCE[@]}"
}
gencert idp-a   "$ENTRA_CN"  2048 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z
gencert idp-b   "$ENTRA_CN"  2048 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z
gencert foreign "$TENANT_CN" 2048 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z
gencert weak    "$ENTRA_CN"  1024 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z
gencert expired "$ENTRA_CN"  2048 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z

# certb64 name: the certificate's DER as one line of base64.
certb64() { grep -v -- '-----' "$KEYS/$1.crt" | tr -d '\r\n'; }

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
# render min|raw template KEY=VALUE...: replace @KEY@ placeholders; "min" first
# strips leading indentation and all line breaks (Entra sends one-line XML).
# An unknown placeholder is an error.
render() {
	perl -e '
		my ($mode, $file, @kv) = @ARGV;
		my %v; for (@kv) { my ($k, $x) = split /=/, $_, 2; $v{$k} = $x; }
		open my $fh, "<", $file or die "render: $file: $!\n";
		local $/; my $t = <$fh>;
		if ($mode eq "min") { $t =~ s/^[ \t]+//mg; $t =~ s/\r?\n//g; }
		$t =~ s/@([A-Z0-9_]+)@/exists $v{$1} ? $v{$1} : die "render: $file: no value for \@$1\@\n"/ge;
		print $t;' "$@"
}

# tidy file: drop the XML declaration and trailing newline xmlsec1 adds, and
# join the base64 lines of SignatureValue (xmlsec1 1.2 wraps at 64 columns;
# Entra does not). SignatureValue is outside what its own signature covers;
# for nested signatures tidy runs before the outer signature is computed.
tidy() {
	perl -0777 -pi -e '
		s/\A<\?xml[^>]*\?>\r?\n?//;
		s{(<SignatureValue>)([^<]*)(</SignatureValue>)}{my ($o, $v, $c) = ($1, $2, $3); $v =~ s/\s+//g; "$o$v$c"}ge;
		s/\s+\z//;' "$1"
}

# xmlns_last file: libxml2 (inside xmlsec1) writes namespace declarations
# before the other attributes; Entra's metadata (.NET) writes them last.
# Attribute order is not part of canonical XML, so the signature is unaffected
# (the verification below runs on the final bytes).
xmlns_last() {
	perl -0777 -pi -e '
		s{<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)(\s*/?)>}{
			my ($n, $a, $e) = ($1, $2, $3);
			my @at = $a =~ /\s+([\w:.-]+="[^"]*")/g;
			my @ns = grep { /^xmlns[:=]/ } @at;
			my @ot = grep { !/^xmlns[:=]/ } @at;
			"<$n" . join("", map { " $_" } @ot, @ns) . "$e>";
		}ge;' "$1"
}

sigtpl() { # refID signingKeyName sigMethod digestMethod
	render min "$TPL/signature.xml" REF_ID="$1" CERT="$(certb64 "$2")" \
		SIGNATURE_METHOD="$3" DIGEST_METHOD="$4"
}

keydescriptors() { # keyName...
	local k
	for k in "$@"; do render min "$TPL/keydescriptor.xml" CERT="$(certb64 "$k")"; done
}

# xsign in out keyName nodeID: sign the Signature inside the element with ID nodeID.
COMMANDS=()
xsign() {
	local cmd=(xmlsec1 --sign --insecure --privkey-pem "$KEYS/$3.key,$KEYS/$3.crt" "${ID_ATTRS[@]}"
		--node-id "$4" --output "$2" "$1")
	COMMANDS+=("${cmd[*]}")
	"${cmd[@]}"
	tidy "$2"
}

values() { # wraps each argument in <AttributeValue>
	local v out=""
	for v in "$@"; do out+="<AttributeValue>$v</AttributeValue>"; done
	printf '%s' "$out"
}

BOM=$'\xef\xbb\xbf'
DECL='<?xml version="1.0" encoding="utf-8"?>'

# ---------------------------------------------------------------------------
# Federation metadata (Entra shape)
# ---------------------------------------------------------------------------
# metadata out id signKey keyName...: signed with signKey, KeyDescriptors for keyNames.
metadata() {
	local out=$1 id=$2 signer=$3
	shift 3
	local kd
	kd=$(keydescriptors "$@")
	render min "$TPL/entra-metadata.xml" ID="$id" IDP_ENTITY_ID="$IDP_ENTITY_ID" \
		SIGNATURE="$(sigtpl "$id" "$signer" "$RSA_SHA256" "$SHA256")" \
		KEY_DESCRIPTORS="$kd" WSFED_URL="$WSFED_URL" SAML2_URL="$SAML2_URL" \
		>"$WORK/$out.tpl"
	xsign "$WORK/$out.tpl" "$WORK/$out" "$signer" "$id"
	xmlns_last "$WORK/$out"
	{ printf '%s%s' "$BOM" "$DECL"; cat "$WORK/$out"; } >"$TD/$out"
}
metadata entra-metadata.xml         "$MD_ID_MAIN"    idp-a   idp-a idp-b
metadata entra-metadata-tenant.xml  "$MD_ID_TENANT"  foreign foreign
metadata entra-metadata-weak.xml    "$MD_ID_WEAK"    weak    weak
metadata entra-metadata-expired.xml "$MD_ID_EXPIRED" expired expired

# Non-Entra IdP metadata (prefixed, pretty-printed, wrapped base64), unsigned.
render raw "$TPL/other-idp-metadata.xml" ENTITY_ID="$OTHER_IDP_ENTITY_ID" \
	SSO_URL="$OTHER_IDP_SSO_URL" CERT_WRAPPED="$(certb64 idp-a | fold -w 64)" \
	>"$TD/other-idp-metadata.xml"
# Wrong uploads: an SP's own metadata, and an HTML sign-in page.
render raw "$TPL/sp-metadata.xml" SP_ENTITY_ID="$SP_ENTITY_ID" ACS_URL="$ACS_URL" \
	>"$TD/sp-metadata.xml"
cp "$TPL/html-page.html" "$TD/html-page.html"

# ---------------------------------------------------------------------------
# Responses (Entra shape)
# ---------------------------------------------------------------------------
# 150 group object ids: the 3 usual ones, then 147 derived deterministically.
GROUPS150=("${GROUP_IDS[@]}")
for i in $(seq 4 150); do
	h=$(printf 'entrasaml-group-%03d' "$i" | sha256sum | cut -c1-32)
	GROUPS150+=("${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}")
done

# response out responseID assertionID signedParts(assertion|response|both)
#          key alg(sha256|sha1) groups(3|150) solicited(yes|no)
response() {
	local out=$1 rid=$2 aid=$3 parts=$4 key=$5 alg=$6 ngroups=$7 solicited=$8
	local sm=$RSA_SHA256 dm=$SHA256 irt="" asig="" rsig="" groups
	[[ $alg == sha1 ]] && { sm=$RSA_SHA1; dm=$SHA1; }
	[[ $solicited == yes ]] && irt=" InResponseTo=\"$AUTHN_REQUEST_ID\""
	[[ $parts == assertion || $parts == both ]] && asig=$(sigtpl "$aid" "$key" "$sm" "$dm")
	[[ $parts == response || $parts == both ]] && rsig=$(sigtpl "$rid" "$key" "$sm" "$dm")
	if [[ $ngroups == 150 ]]; then groups=$(values "${GROUPS150[@]}"); else groups=$(values "${GROUP_IDS[@]}"); fi
	local assertion
	assertion=$(render min "$TPL/assertion.xml" ASSERTION_ID="$aid" ISSUE_INSTANT="$ISSUE_INSTANT" \
		IDP_ENTITY_ID="$IDP_ENTITY_ID" ASSERTION_SIGNATURE="$asig" NAMEID_FORMAT="$NAMEID_FORMAT" \
		NAMEID="$NAMEID" IN_RESPONSE_TO_ATTR="$irt" SCD_NOT_ON_OR_AFTER="$SCD_NOT_ON_OR_AFTER" \
		ACS_URL="$ACS_URL" NOT_BEFORE="$NOT_BEFORE" NOT_ON_OR_AFTER="$NOT_ON_OR_AFTER" \
		SP_ENTITY_ID="$SP_ENTITY_ID" TENANT_ID="$TENANT_ID" OBJECT_ID="$OBJECT_ID" \
		DISPLAY_NAME="$DISPLAY_NAME" GROUP_VALUES="$groups" ROLE_VALUES="$(values "${ROLES[@]}")" \
		IDENTITY_PROVIDER="$IDENTITY_PROVIDER" AUTHN_METHOD="$AUTHN_METHOD" GIVEN_NAME="$GIVEN_NAME" \
		SURNAME="$SURNAME" EMAIL="$EMAIL" UPN="$UPN" AUTHN_INSTANT="$AUTHN_INSTANT" \
		SESSION_INDEX="$SESSION_INDEX" AUTHN_CONTEXT_CLASS="$AUTHN_CONTEXT_CLASS")
	render min "$TPL/response.xml" RESPONSE_ID="$rid" ISSUE_INSTANT="$ISSUE_INSTANT" \
		ACS_URL="$ACS_URL" IN_RESPONSE_TO_ATTR="$irt" IDP_ENTITY_ID="$IDP_ENTITY_ID" \
		RESPONSE_SIGNATURE="$rsig" ASSERTION="$assertion" >"$WORK/$out.0"
	local cur="$WORK/$out.0"
	if [[ -n $asig ]]; then xsign "$cur" "$WORK/$out.1" "$key" "$aid"; cur="$WORK/$out.1"; fi
	if [[ -n $rsig ]]; then xsign "$cur" "$WORK/$out.2" "$key" "$rid"; cur="$WORK/$out.2"; fi
	cp "$cur" "$TD/$out"
}

#        file                           Response ID                              Assertion ID                             signed    key     alg    groups solicited
response response-assertion-signed.xml _4b2b8c2e-a6eb-4e4a-b4c3-d1565d090369 _194e5e54-85cc-4790-b09a-c21d19cdc09c assertion idp-a   sha256 3   yes
response response-signed.xml           _c9079842-400e-455b-9393-fccda8098895 _cff5dea4-a491-4e91-a39e-2bac891d87dc response  idp-b   sha256 3   yes
response response-both-signed.xml      _d22eba49-f419-4371-9026-44b46f85d8ed _75287461-307e-4663-bb6f-3b8f10d86cb8 both      idp-a   sha256 3   yes
response response-sha1.xml             _7ee320d4-accd-4710-88de-bb3ac1717d7b _6bae67a2-41e2-4f0a-bb70-f4989601cd7d assertion idp-a   sha1   3   yes
response response-150-groups.xml       _78db9e55-0bd1-43d7-94ea-790202ef7f32 _d121f9b8-61e0-4615-9dc5-99293c95dc5a assertion idp-a   sha256 150 yes
response response-foreign-key.xml      _4cd2f4d1-710b-4ba4-90ed-f8f94f87b9a3 _db702eae-a17c-4a2b-a988-2b993879fee8 assertion foreign sha256 3   yes
response response-unsolicited.xml      _ceacb0be-2bc6-4e3f-a7ac-1bad426837df _59e0ce75-0eee-41a0-814c-c9b0a7058d84 assertion idp-a   sha256 3   no

ERROR_RESPONSE_ID=_1a51f0a2-2650-4a0d-b474-791cb75c5cd3
render min "$TPL/response-error.xml" RESPONSE_ID="$ERROR_RESPONSE_ID" ISSUE_INSTANT="$ISSUE_INSTANT" \
	ACS_URL="$ACS_URL" IN_RESPONSE_TO_ATTR=" InResponseTo=\"$AUTHN_REQUEST_ID\"" \
	IDP_ENTITY_ID="$IDP_ENTITY_ID" STATUS_CODE="$STATUS_REQUESTER" \
	SUB_STATUS_CODE="$STATUS_REQUEST_UNSUPPORTED" STATUS_MESSAGE="$STATUS_MESSAGE" \
	>"$TD/response-error.xml"

# ---------------------------------------------------------------------------
# Verify every signature with xmlsec1, pinned to the expected certificate.
# --enabled-key-data rsa stops xmlsec1 from using the certificate in KeyInfo,
# so only the key given with --pubkey-cert-pem can verify. Each signature
# must verify with its signer's certificate and fail with another one.
# ---------------------------------------------------------------------------
VERIFY_COMMANDS=()
FAILED=0
xverify() { # file nodeID keyName expect(ok|fail)
	local cmd=(xmlsec1 --verify --pubkey-cert-pem "$KEYS/$3.crt" --enabled-key-data rsa
		"${ID_ATTRS[@]}" --node-id "$2" "$1")
	[[ $4 == ok ]] && VERIFY_COMMANDS+=("${cmd[*]}")
	if "${cmd[@]}" >"$WORK/verify.log" 2>&1; then
		if [[ $4 == ok ]]; then echo "verified: $1 #$2 with $3"; else
			echo "UNEXPECTED: $1 #$2 verified with $3" >&2; FAILED=1; fi
	else
		if [[ $4 == fail ]]; then echo "rejected: $1 #$2 with $3 (as expected)"; else
			echo "FAILED: $1 #$2 with $3" >&2; cat "$WORK/verify.log" >&2; FAILED=1; fi
	fi
}
check() { # file nodeID signer other
	xverify "$TD/$1" "$2" "$3" ok
	xverify "$TD/$1" "$2" "$4" fail
}
check entra-metadata.xml         "$MD_ID_MAIN"    idp-a   idp-b
check entra-metadata-tenant.xml  "$MD_ID_TENANT"  foreign idp-a
check entra-metadata-weak.xml    "$MD_ID_WEAK"    weak    idp-a
check entra-metadata-expired.xml "$MD_ID_EXPIRED" expired idp-a
check response-assertion-signed.xml _194e5e54-85cc-4790-b09a-c21d19cdc09c idp-a idp-b
check response-signed.xml           _c9079842-400e-455b-9393-fccda8098895 idp-b idp-a
check response-both-signed.xml      _75287461-307e-4663-bb6f-3b8f10d86cb8 idp-a idp-b
check response-both-signed.xml      _d22eba49-f419-4371-9026-44b46f85d8ed idp-a idp-b
check response-sha1.xml             _6bae67a2-41e2-4f0a-bb70-f4989601cd7d idp-a idp-b
check response-150-groups.xml       _d121f9b8-61e0-4615-9dc5-99293c95dc5a idp-a idp-b
check response-foreign-key.xml      _db702eae-a17c-4a2b-a988-2b993879fee8 foreign idp-a
check response-unsolicited.xml      _59e0ce75-0eee-41a0-814c-c9b0a7058d84 idp-a idp-b

# Shape checks the tests rely on.
for f in entra-metadata.xml entra-metadata-tenant.xml entra-metadata-weak.xml entra-metadata-expired.xml; do
	[[ $(head -c 3 "$TD/$f" | od -An -tx1 | tr -d ' \n') == efbbbf ]] || { echo "no BOM: $f" >&2; FAILED=1; }
done
for f in response-signed.xml response-error.xml; do
	! grep -q '<Assertion[^>]*>.*<Signature' "$TD/$f" || { echo "assertion signed: $f" >&2; FAILED=1; }
done
! grep -q 'InResponseTo' "$TD/response-unsolicited.xml" || { echo "InResponseTo in unsolicited" >&2; FAILED=1; }
[[ $(grep -o '<Attribute Name="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups">.*</Attribute>' \
	"$TD/response-150-groups.xml" | sed 's#</Attribute>.*##' | grep -o '<AttributeValue>' | wc -l) == 150 ]] ||
	{ echo "response-150-groups.xml: not 150 groups" >&2; FAILED=1; }
[[ $FAILED == 0 ]] || { echo "gen.sh: verification failed" >&2; exit 1; }

# ---------------------------------------------------------------------------
# testdata/fixtures.json (paths are relative to testdata/)
# ---------------------------------------------------------------------------
jarr() { # JSON array of strings (values contain no quotes or backslashes)
	local v sep=""
	printf '['
	for v in "$@"; do printf '%s"%s"' "$sep" "$v"; sep=", "; done
	printf ']'
}
fp() { openssl x509 -in "$KEYS/$1.crt" -noout -fingerprint "-$2" | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
keyjson() { # name bits notBefore notAfter cn role
	printf '    "%s": {"key": "keys/%s.key", "cert": "keys/%s.crt", "bits": %s, "subjectCN": "%s", "notBefore": "%s", "notAfter": "%s", "sha256": "%s", "sha1": "%s", "role": "%s"}' \
		"$1" "$1" "$1" "$2" "$5" "$3" "$4" "$(fp "$1" sha256)" "$(fp "$1" sha1)" "$6"
}
respjson() { # file responseID assertionID signed signer sigAlg digestAlg inResponseTo groups
	printf '    "%s": {"responseId": "%s", "assertionId": "%s", "signed": %s, "signer": "%s", "signatureMethod": "%s", "digestMethod": "%s", "inResponseTo": "%s", "groupCount": %s}' "$@"
}
{
cat <<EOF
{
  "_comment": "Generated by testdata/xmlsec/gen.sh; do not edit. Paths are relative to testdata/. Keys are test-only.",
  "tenantId": "$TENANT_ID",
  "appId": "$APP_ID",
  "idpEntityId": "$IDP_ENTITY_ID",
  "ssoUrl": "$SAML2_URL",
  "sloUrl": "$SAML2_URL",
  "wsfedUrl": "$WSFED_URL",
  "metadataUrl": "$METADATA_URL",
  "spEntityId": "$SP_ENTITY_ID",
  "spBaseUrl": "$SP_BASE_URL",
  "acsUrl": "$ACS_URL",
  "authnRequestId": "$AUTHN_REQUEST_ID",
  "now": "$NOW",
  "issueInstant": "$ISSUE_INSTANT",
  "notBefore": "$NOT_BEFORE",
  "notOnOrAfter": "$NOT_ON_OR_AFTER",
  "subjectConfirmationNotOnOrAfter": "$SCD_NOT_ON_OR_AFTER",
  "authnInstant": "$AUTHN_INSTANT",
  "sessionIndex": "$SESSION_INDEX",
  "authnContextClassRef": "$AUTHN_CONTEXT_CLASS",
  "user": {
    "nameId": "$NAMEID",
    "nameIdFormat": "$NAMEID_FORMAT",
    "objectId": "$OBJECT_ID",
    "tenantId": "$TENANT_ID",
    "displayName": "$DISPLAY_NAME",
    "givenName": "$GIVEN_NAME",
    "surname": "$SURNAME",
    "email": "$EMAIL",
    "upn": "$UPN",
    "identityProvider": "$IDENTITY_PROVIDER",
    "authnMethodsReferences": $(jarr "$AUTHN_METHOD"),
    "groups": $(jarr "${GROUP_IDS[@]}"),
    "roles": $(jarr "${ROLES[@]}")
  },
  "groups150": $(jarr "${GROUPS150[@]}"),
  "keys": {
$(keyjson idp-a   2048 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z "$ENTRA_CN" "app signing key; in entra-metadata.xml; signs most fixtures"),
$(keyjson idp-b   2048 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z "$ENTRA_CN" "second app signing key (rollover); in entra-metadata.xml; signs response-signed.xml"),
$(keyjson foreign 2048 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z "$TENANT_CN" "not in entra-metadata.xml; tenant-level key of entra-metadata-tenant.xml; signs response-foreign-key.xml"),
$(keyjson weak    1024 2025-01-01T00:00:00Z 2045-01-01T00:00:00Z "$ENTRA_CN" "RSA-1024; only in entra-metadata-weak.xml"),
$(keyjson expired 2048 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z "$ENTRA_CN" "expired; only in entra-metadata-expired.xml")
  },
  "metadata": {
    "entra-metadata.xml": {"id": "$MD_ID_MAIN", "signer": "idp-a", "bom": true, "idpKeys": ["idp-a", "idp-b"]},
    "entra-metadata-tenant.xml": {"id": "$MD_ID_TENANT", "signer": "foreign", "bom": true, "idpKeys": ["foreign"]},
    "entra-metadata-weak.xml": {"id": "$MD_ID_WEAK", "signer": "weak", "bom": true, "idpKeys": ["weak"]},
    "entra-metadata-expired.xml": {"id": "$MD_ID_EXPIRED", "signer": "expired", "bom": true, "idpKeys": ["expired"]},
    "other-idp-metadata.xml": {"entityId": "$OTHER_IDP_ENTITY_ID", "ssoUrl": "$OTHER_IDP_SSO_URL", "signer": "", "idpKeys": ["idp-a"]},
    "sp-metadata.xml": {"entityId": "$SP_ENTITY_ID"},
    "html-page.html": {}
  },
  "responses": {
$(respjson response-assertion-signed.xml _4b2b8c2e-a6eb-4e4a-b4c3-d1565d090369 _194e5e54-85cc-4790-b09a-c21d19cdc09c '["assertion"]' idp-a "$RSA_SHA256" "$SHA256" "$AUTHN_REQUEST_ID" 3),
$(respjson response-signed.xml           _c9079842-400e-455b-9393-fccda8098895 _cff5dea4-a491-4e91-a39e-2bac891d87dc '["response"]' idp-b "$RSA_SHA256" "$SHA256" "$AUTHN_REQUEST_ID" 3),
$(respjson response-both-signed.xml      _d22eba49-f419-4371-9026-44b46f85d8ed _75287461-307e-4663-bb6f-3b8f10d86cb8 '["assertion", "response"]' idp-a "$RSA_SHA256" "$SHA256" "$AUTHN_REQUEST_ID" 3),
$(respjson response-sha1.xml             _7ee320d4-accd-4710-88de-bb3ac1717d7b _6bae67a2-41e2-4f0a-bb70-f4989601cd7d '["assertion"]' idp-a "$RSA_SHA1" "$SHA1" "$AUTHN_REQUEST_ID" 3),
$(respjson response-150-groups.xml       _78db9e55-0bd1-43d7-94ea-790202ef7f32 _d121f9b8-61e0-4615-9dc5-99293c95dc5a '["assertion"]' idp-a "$RSA_SHA256" "$SHA256" "$AUTHN_REQUEST_ID" 150),
$(respjson response-foreign-key.xml      _4cd2f4d1-710b-4ba4-90ed-f8f94f87b9a3 _db702eae-a17c-4a2b-a988-2b993879fee8 '["assertion"]' foreign "$RSA_SHA256" "$SHA256" "$AUTHN_REQUEST_ID" 3),
$(respjson response-unsolicited.xml      _ceacb0be-2bc6-4e3f-a7ac-1bad426837df _59e0ce75-0eee-41a0-814c-c9b0a7058d84 '["assertion"]' idp-a "$RSA_SHA256" "$SHA256" "" 3),
    "response-error.xml": {"responseId": "$ERROR_RESPONSE_ID", "assertionId": "", "signed": [], "signer": "", "inResponseTo": "$AUTHN_REQUEST_ID", "statusCode": "$STATUS_REQUESTER", "subStatusCode": "$STATUS_REQUEST_UNSUPPORTED", "statusMessage": "$STATUS_MESSAGE", "errorCode": "AADSTS50105"}
  }
}
EOF
} >"$TD/fixtures.json"

echo
echo "xmlsec1 sign commands:"
printf '  %s\n' "${COMMANDS[@]}"
echo "xmlsec1 verify commands (each also run with a wrong certificate, which must fail):"
printf '  %s\n' "${VERIFY_COMMANDS[@]}"
echo "gen.sh: done"
