#!/usr/bin/env bash
# Generates responses in the shape of other IdPs (Okta, Google Workspace,
# AD FS, Keycloak, PingOne/PingFederate, OneLogin, JumpCloud), signed and
# verified with xmlsec1, the reference XML-DSig implementation, as the
# Entra fixtures are (testdata/xmlsec/gen.sh). Each goes to
# testdata/idps/<idp>/response.xml beside the IdP's real metadata
# (metadata.xml, see its SOURCE). The tests load that metadata with the
# test certificate in place of the IdP's own, so that these responses
# verify against the IdP's real metadata shape. See README.md.
#
# Run from the repository root:   bash testdata/idps/gen.sh
# Needs: bash, perl, xmlsec1 (Debian package xmlsec1; Homebrew libxmlsec1).
set -euo pipefail

if [[ ! -f go.mod || ! -d testdata/idps ]]; then
	echo "gen.sh: run from the repository root: bash testdata/idps/gen.sh" >&2
	exit 1
fi
for tool in perl xmlsec1; do
	command -v "$tool" >/dev/null || { echo "gen.sh: $tool not found" >&2; exit 1; }
done

DIR=testdata/idps
TPL=$DIR/templates
KEYS=testdata/keys
KEY=idp-a   # made by testdata/xmlsec/gen.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Fixed values, shared with the Entra fixtures (testdata/fixtures.json).
SP_ENTITY_ID=https://acme.vendor.example/saml
ACS_URL=https://acme.vendor.example/saml/acs
REQUEST_ID=_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e
ISSUE_INSTANT=2026-11-20T10:00:00.123Z
NOT_BEFORE=2026-11-20T09:55:00.123Z
NOT_ON_OR_AFTER=2026-11-20T10:05:00.123Z
SCD_NOT_ON_OR_AFTER=2026-11-20T10:05:00.123Z
AUTHN_INSTANT=2026-11-20T09:59:58.000Z
EMAIL=megan.bowen@contoso.example

NS_A=urn:oasis:names:tc:SAML:2.0:assertion
NS_DS=http://www.w3.org/2000/09/xmldsig#
NS_XSI=http://www.w3.org/2001/XMLSchema-instance
NS_XS=http://www.w3.org/2001/XMLSchema
EMAIL_FMT=urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress
UNSPEC_FMT=urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified
PERSISTENT_FMT=urn:oasis:names:tc:SAML:2.0:nameid-format:persistent
BASIC=urn:oasis:names:tc:SAML:2.0:attrname-format:basic
URI=urn:oasis:names:tc:SAML:2.0:attrname-format:uri
UNSPEC=urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified
PPT=urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport

render() { # template KEY=VALUE...: replace @KEY@; strip indentation and line breaks
	perl -e '
		my ($file, @kv) = @ARGV;
		my %v; for (@kv) { my ($k, $x) = split /=/, $_, 2; $v{$k} = $x; }
		open my $fh, "<", $file or die "render: $file: $!\n";
		local $/; my $t = <$fh>;
		$t =~ s/^[ \t]+//mg; $t =~ s/\r?\n//g;
		$t =~ s/@([A-Z0-9_]+)@/exists $v{$1} ? $v{$1} : die "render: $file: no value for \@$1\@\n"/ge;
		print $t;' "$@"
}
certb64() { grep -v -- '-----' "$KEYS/$KEY.crt" | tr -d '\r\n'; }

# attr prefix name nameFormat typed(yes|no) value...: one Attribute.
attr() {
	local p=$1 name=$2 fmt=$3 typed=$4 v out
	shift 4
	out="<${p}Attribute Name=\"$name\" NameFormat=\"$fmt\">"
	for v in "$@"; do
		if [[ $typed == yes ]]; then
			out+="<${p}AttributeValue xmlns:xs=\"$NS_XS\" xmlns:xsi=\"$NS_XSI\" xsi:type=\"xs:string\">$v</${p}AttributeValue>"
		else
			out+="<${p}AttributeValue>$v</${p}AttributeValue>"
		fi
	done
	printf '%s</%sAttribute>' "$out" "$p"
}

ID_ATTRS=(--id-attr:ID "$NS_A:Assertion" --id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response)
xsign() { # in out nodeID
	xmlsec1 --sign --insecure --privkey-pem "$KEYS/$KEY.key,$KEYS/$KEY.crt" "${ID_ATTRS[@]}" \
		--node-id "$3" --output "$2" "$1"
	# Drop the XML declaration xmlsec1 adds and join SignatureValue's lines.
	perl -0777 -pi -e '
		s/\A<\?xml[^>]*\?>\r?\n?//;
		s{(SignatureValue>)([^<]*)(</)}{my ($o, $v, $c) = ($1, $2, $3); $v =~ s/\s+//g; "$o$v$c"}ge;
		s/\s+\z//;' "$2"
}
FAILED=0
xverify() { # file nodeID: pinned to the test certificate, KeyInfo ignored
	if xmlsec1 --verify --pubkey-cert-pem "$KEYS/$KEY.crt" --enabled-key-data rsa \
		"${ID_ATTRS[@]}" --node-id "$2" "$1" >"$WORK/verify.log" 2>&1; then
		echo "verified: $1 #$2"
	else
		echo "FAILED: $1 #$2" >&2; cat "$WORK/verify.log" >&2; FAILED=1
	fi
}

# response idp signed(assertion|response|both) protocolPrefix assertionPrefix
#   assertionNS(on-response|on-assertion|default) dsPrefix issuerFormat(yes|no)
#   consent(yes|no) entityID nameIDFormat nameID sessionIndex responseID assertionID attributes
response() {
	local idp=$1 parts=$2 pp=$3 ap=$4 ansmode=$5 dp=$6 ifmt=$7 consent=$8 entity=$9
	local nfmt=${10} nameid=${11} sidx=${12} rid=${13} aid=${14} attrs=${15}
	local a="" ans="" rns="" ins="" dns issuer_format="" consent_attr="" asig="" rsig=""
	[[ -n $ap ]] && a="$ap:"
	case $ansmode in
	on-response) rns=" xmlns:$ap=\"$NS_A\"" ;;
	on-assertion) ans=" xmlns:$ap=\"$NS_A\""; ins=" xmlns:$ap=\"$NS_A\"" ;;
	default) ans=" xmlns=\"$NS_A\""; ins=" xmlns=\"$NS_A\"" ;;
	esac
	if [[ -n $dp ]]; then dns=" xmlns:$dp=\"$NS_DS\""; dp="$dp:"; else dns=" xmlns=\"$NS_DS\""; fi
	[[ $ifmt == yes ]] && issuer_format=' Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity"'
	[[ $consent == yes ]] && consent_attr=' Consent="urn:oasis:names:tc:SAML:2.0:consent:unspecified"'
	[[ $parts == assertion || $parts == both ]] &&
		asig=$(render "$TPL/signature.xml" DP="$dp" DNS="$dns" REF_ID="$aid" CERT="$(certb64)")
	[[ $parts == response || $parts == both ]] &&
		rsig=$(render "$TPL/signature.xml" DP="$dp" DNS="$dns" REF_ID="$rid" CERT="$(certb64)")
	local assertion
	assertion=$(render "$TPL/assertion.xml" AP="$a" ASSERTION_NS="$ans" ASSERTION_ID="$aid" \
		ISSUE_INSTANT="$ISSUE_INSTANT" ISSUER_FORMAT="$issuer_format" IDP_ENTITY_ID="$entity" \
		ASSERTION_SIGNATURE="$asig" NAMEID_FORMAT="$nfmt" NAMEID="$nameid" REQUEST_ID="$REQUEST_ID" \
		SCD_NOT_ON_OR_AFTER="$SCD_NOT_ON_OR_AFTER" ACS_URL="$ACS_URL" NOT_BEFORE="$NOT_BEFORE" \
		NOT_ON_OR_AFTER="$NOT_ON_OR_AFTER" SP_ENTITY_ID="$SP_ENTITY_ID" AUTHN_INSTANT="$AUTHN_INSTANT" \
		SESSION_INDEX="$sidx" AUTHN_CONTEXT_CLASS="$PPT" ATTRIBUTES="$attrs")
	render "$TPL/response.xml" PP="$pp" RESPONSE_NS="$rns" RESPONSE_ID="$rid" ISSUE_INSTANT="$ISSUE_INSTANT" \
		ACS_URL="$ACS_URL" REQUEST_ID="$REQUEST_ID" CONSENT="$consent_attr" AP="$a" ISSUER_NS="$ins" \
		ISSUER_FORMAT="$issuer_format" IDP_ENTITY_ID="$entity" RESPONSE_SIGNATURE="$rsig" \
		ASSERTION="$assertion" >"$WORK/$idp.0"
	local cur="$WORK/$idp.0"
	if [[ -n $asig ]]; then xsign "$cur" "$WORK/$idp.1" "$aid"; cur="$WORK/$idp.1"; fi
	if [[ -n $rsig ]]; then xsign "$cur" "$WORK/$idp.2" "$rid"; cur="$WORK/$idp.2"; fi
	cp "$cur" "$DIR/$idp/response.xml"
	[[ -z $asig ]] || xverify "$DIR/$idp/response.xml" "$aid"
	[[ -z $rsig ]] || xverify "$DIR/$idp/response.xml" "$rid"
}

# Okta: saml2p/saml2 prefixes, Issuer with Format, Response and Assertion
# both signed; attribute statements as an admin maps them (unspecified
# NameFormat, xs:string values); a group attribute statement "groups".
response okta both saml2p saml2 on-assertion ds yes no http://www.okta.com/exkdoocxa1VmjpXmX697 \
	"$EMAIL_FMT" "$EMAIL" id1763632798123.412345678 id58261947306319481726354810 id58261947307711203846173942 \
	"$(attr saml2: email "$UNSPEC" yes "$EMAIL")$(attr saml2: firstName "$UNSPEC" yes Megan)$(attr saml2: lastName "$UNSPEC" yes Bowen)$(attr saml2: groups "$UNSPEC" yes Everyone Engineering)"

# Google Workspace: saml2p/saml2, only the Assertion signed, NameID the
# primary email (format unspecified); custom attribute mapping names.
response google assertion saml2p saml2 on-assertion ds no no "https://accounts.google.com/o/saml2?idpid=C029op2ga" \
	"$UNSPEC_FMT" "$EMAIL" _9c1f0e6a7b2d4c8e9f3a5b7d1e2f4a6c _7d3e9a1c5b2f4e6d8a0c1b3e5f7a9d2c _1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e \
	"$(attr saml2: email "$UNSPEC" no "$EMAIL")$(attr saml2: groups "$UNSPEC" no engineering@contoso.example)"

# AD FS: samlp prefix, Assertion in the default namespace, only the
# Assertion signed, claim URIs (the AD FS "Send LDAP Attributes" rule).
response adfs assertion samlp "" default "" no yes http://www.example.com/adfs/services/trust \
	"$EMAIL_FMT" "$EMAIL" _2f6d9c1e-4a7b-4e0f-8c3d-5b9a1e7f2c60 _6a2e8c4f-1d3b-4f5a-9e7c-0b2d4f6a8c1e _0e4c8a2f-6b1d-4e3f-a5c7-9d1b3f5e7a2c \
	"$(attr "" http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress "$URI" no "$EMAIL")$(attr "" http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn "$URI" no megan.bowen@corp.contoso.example)$(attr "" http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname "$URI" no Megan)$(attr "" http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname "$URI" no Bowen)$(attr "" http://schemas.xmlsoap.org/claims/Group "$URI" no "Domain Users" Engineering)"

# Keycloak: samlp/saml prefixes declared on the Response, dsig: prefix,
# only the Response signed ("Sign documents", Keycloak's default), X.500
# attribute mappers (urn:oid names) and the role list as "Role".
response keycloak response samlp saml on-response dsig no no http://localhost:8085/realms/master \
	"$PERSISTENT_FMT" G-5f3c1a9e-7d2b-4e8f-a6c0-1b3d5e7f9a2c ID_1c3e5a7b-9d2f-4a6c-8e0b-2d4f6a8c0e1b ID_7e9a1c3b-5d2f-4e6a-8c0b-1d3f5a7c9e2b ID_3a5c7e9b-1d2f-4a6c-8e0b-3d5f7a9c1e2b \
	"$(attr saml: urn:oid:1.2.840.113549.1.9.1 "$URI" yes "$EMAIL")$(attr saml: urn:oid:2.5.4.42 "$URI" yes Megan)$(attr saml: urn:oid:2.5.4.4 "$URI" yes Bowen)$(attr saml: Role "$BASIC" yes offline_access)$(attr saml: Role "$BASIC" yes uma_authorization)"

# PingOne / PingFederate: samlp/saml prefixes on each element, only the
# Assertion signed, NameID unspecified; LDAP-style names (mail, memberOf).
response pingone assertion samlp saml on-assertion ds no no https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6 \
	"$UNSPEC_FMT" 9e34fa21-4e8f-4dee-b565-648dbcf25eff 4b7d9f1a-3c5e-4a7b-9d1f-2e4a6c8b0d3f id-5c7e9a1b-3d2f-4e6a-8c0b-2d4f6a8c0e1d id-1a3c5e7b-9d2f-4a6c-8e0b-4d6f8a0c2e3b \
	"$(attr saml: mail "$BASIC" no "$EMAIL")$(attr saml: givenName "$BASIC" no Megan)$(attr saml: sn "$BASIC" no Bowen)$(attr saml: memberOf "$BASIC" no "cn=Engineering,ou=Groups,dc=contoso,dc=example")"

# OneLogin: samlp/saml prefixes, Response and Assertion signed (OneLogin's
# "SAML signature element: Both"), OneLogin's default parameter names.
response onelogin both samlp saml on-assertion ds no no https://app.onelogin.com/saml/metadata/503983 \
	"$EMAIL_FMT" "$EMAIL" _be9967abd904ddcae3c0eb4189adbe3f71e327cf93 R8e6a1d4f2c9b7e3a5d0f1c8b6e4a2d9f7c5b3e1a OA2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8 \
	"$(attr saml: User.email "$BASIC" yes "$EMAIL")$(attr saml: User.FirstName "$BASIC" yes Megan)$(attr saml: User.LastName "$BASIC" yes Bowen)$(attr saml: memberOf "$BASIC" yes Engineering)"

# JumpCloud: saml2p/saml2, Consent on the Response, Issuer with Format,
# only the Assertion signed; custom attribute names and a group attribute.
response jumpcloud assertion saml2p saml2 on-assertion ds yes yes "IdP Entity ID" \
	"urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified" "$EMAIL" 247ae9c9-2820-42da-9f71-6c940231f614 FQRGC12D4KDUUFHSRZXZ27C8ZT1WHAMF1JBQCISX UQCW5ZYPIJUA5HQCFIIJQFKUTA7B4QPKZU5T1ZEE \
	"$(attr saml2: email "$UNSPEC" no "$EMAIL")$(attr saml2: firstName "$UNSPEC" no Megan)$(attr saml2: lastName "$UNSPEC" no Bowen)$(attr saml2: memberOf "$UNSPEC" no Engineering)"

[[ $FAILED == 0 ]] || { echo "gen.sh: verification failed" >&2; exit 1; }
echo "gen.sh: done"
