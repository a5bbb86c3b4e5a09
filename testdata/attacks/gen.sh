#!/usr/bin/env bash
# Generates the signed attack fixtures in testdata/attacks/ for attack_test.go.
#
# Each file is response-assertion-signed.xml (one: response-signed.xml) with
# its signature rebuilt around a construct the verifier's signature policy
# must refuse, signed with xmlsec1 (idp-a, the app signing key in
# entra-metadata.xml) and verified again with xmlsec1 pinned to idp-a's
# certificate (and, for RSA, refused with idp-b's). So every file carries a
# signature that the reference XML-DSig implementation accepts: refusing it
# is the policy's doing, not a broken fixture. Some files are tampered with
# after signing (NameID attacker@evil.example) where the construct leaves
# the NameID unsigned, and xmlsec1 still accepts them.
# Re-running reproduces the files byte for byte (RSA PKCS#1 v1.5 and HMAC
# are deterministic).
#
# Run from the repository root: bash testdata/attacks/gen.sh
# Needs: bash, perl, openssl, xmlsec1. Keys are test-only (testdata/keys).
set -euo pipefail

if [[ ! -f go.mod || ! -d testdata/attacks ]]; then
	echo "gen.sh: run from the repository root: bash testdata/attacks/gen.sh" >&2
	exit 1
fi
OUT=testdata/attacks
KEYS=testdata/keys
BASE=testdata/response-assertion-signed.xml
RID=_4b2b8c2e-a6eb-4e4a-b4c3-d1565d090369
AID=_194e5e54-85cc-4790-b09a-c21d19cdc09c
EVIL=attacker@evil.example
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

DS=http://www.w3.org/2000/09/xmldsig#
EXC=http://www.w3.org/2001/10/xml-exc-c14n#
ENV=${DS}enveloped-signature
RSA256=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
SHA256=http://www.w3.org/2001/04/xmlenc#sha256
CERT=$(grep -v -- '-----' "$KEYS/idp-a.crt" | tr -d '\r\n')
ID_ATTRS=(
	--id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion
	--id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response
)

tr_() { printf '<Transform Algorithm="%s"/>' "$1"; }
ref() { # uri transforms...
	local uri=$1 t=""
	shift
	for x in "$@"; do t+=$x; done
	printf '<Reference URI="%s"><Transforms>%s</Transforms><DigestMethod Algorithm="%s"/><DigestValue/></Reference>' \
		"$uri" "$t" "$SHA256"
}
sig() { # c14n sigMethod references...
	local c14n=$1 sm=$2 refs=""
	shift 2
	for x in "$@"; do refs+=$x; done
	printf '<Signature xmlns="%s"><SignedInfo><CanonicalizationMethod Algorithm="%s"/><SignatureMethod Algorithm="%s"/>%s</SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></Signature>' \
		"$DS" "$c14n" "$sm" "$refs" "$CERT"
}

# signed name signature [xmlsec1 key options...]: replace the first signature
# in $FROM (default BASE) with signature, apply $PRE, sign the element with ID
# $NODE (default the assertion), tidy, apply $POST (a perl substitution run
# after signing) and verify with the same key options.
signed() {
	local name=$1 signature=$2
	shift 2
	local keyopts=("$@")
	SIG=$signature perl -0777 -pe 's{<Signature xmlns=.*?</Signature>}{$ENV{SIG}}s' "${FROM:-$BASE}" >"$WORK/$name.tpl"
	[[ -n ${PRE:-} ]] && perl -0777 -pi -e "$PRE" "$WORK/$name.tpl"
	xmlsec1 --sign --insecure "${keyopts[@]}" "${ID_ATTRS[@]}" --node-id "${NODE:-$AID}" \
		--output "$WORK/$name" "$WORK/$name.tpl"
	perl -0777 -pi -e '
		s/\A<\?xml[^>]*\?>\r?\n?//;
		s{(<SignatureValue>)([^<]*)(</SignatureValue>)}{my ($o, $v, $c) = ($1, $2, $3); $v =~ s/\s+//g; "$o$v$c"}ge;
		s/\s+\z//;' "$WORK/$name"
	[[ -n ${POST:-} ]] && perl -0777 -pi -e "$POST" "$WORK/$name"
	local vopts=("${keyopts[@]}")
	[[ ${vopts[0]} == --privkey-pem ]] && vopts=(--pubkey-cert-pem "$KEYS/idp-a.crt" --enabled-key-data rsa)
	xmlsec1 --verify "${vopts[@]}" "${ID_ATTRS[@]}" --node-id "${NODE:-$AID}" "$WORK/$name" >"$WORK/verify.log" 2>&1 ||
		{ echo "gen.sh: xmlsec1 does not verify $name" >&2; cat "$WORK/verify.log" >&2; exit 1; }
	if [[ ${keyopts[0]} == --privkey-pem ]] && xmlsec1 --verify --pubkey-cert-pem "$KEYS/idp-b.crt" --enabled-key-data rsa \
		"${ID_ATTRS[@]}" --node-id "${NODE:-$AID}" "$WORK/$name" >/dev/null 2>&1; then
		echo "gen.sh: $name verifies with idp-b" >&2
		exit 1
	fi
	cp "$WORK/$name" "$OUT/$name"
	echo "signed and verified: $OUT/$name"
}
RSA_A=(--privkey-pem "$KEYS/idp-a.key,$KEYS/idp-a.crt")
EVIL_NAMEID="s{>adele.vance\\@contoso.example</NameID>}{>${EVIL/@/\\@}</NameID>} or die"

# Each of CanonicalizationMethod and the c14n transform, alone, set to
# inclusive c14n or to exclusive c14n with comments (both of which
# goxmldsig implements).
C14N=http://www.w3.org/TR/2001/REC-xml-c14n-20010315
EXCC=${EXC}WithComments
signed c14n-method-inclusive.xml "$(sig "$C14N" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"
signed c14n-method-with-comments.xml "$(sig "$EXCC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"
signed c14n-transform-inclusive.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$C14N")")")" "${RSA_A[@]}"
signed c14n-transform-with-comments.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXCC")")")" "${RSA_A[@]}"

# RSA-SHA1 over a SHA-256 digest, and RSA-SHA256 over a SHA-1 digest.
signed rsa-sha1.xml "$(sig "$EXC" "${DS}rsa-sha1" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"
signed digest-sha1.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")" | sed "s|$SHA256|${DS}sha1|")")" "${RSA_A[@]}"

# An extra transform: enveloped-signature twice, then exclusive c14n.
signed extra-transform.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# The assertion's signature references the Response, not the Assertion.
signed ref-response.xml "$(sig "$EXC" "$RSA256" "$(ref "#$RID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# The assertion's signature references the whole document (URI="").
signed ref-empty.xml "$(sig "$EXC" "$RSA256" "$(ref "" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# Two References: the Assertion and the Response; the Assertion twice.
signed two-references.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")" "$(ref "#$RID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"
signed same-reference-twice.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# The Response signature of response-signed.xml with URI="" (the whole
# document, which is the Response), signed with idp-a.
SRID=_c9079842-400e-455b-9393-fccda8098895
FROM=testdata/response-signed.xml NODE=$SRID \
	signed response-ref-empty.xml "$(sig "$EXC" "$RSA256" "$(ref "" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# An XPath filter that leaves the NameID unsigned; NameID changed after signing.
XPATH_T="<Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><XPath xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">not(ancestor-or-self::saml:NameID)</XPath></Transform>"
POST=$EVIL_NAMEID signed xpath-transform.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$XPATH_T" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# An XSLT transform whose output ignores its input, so the digest covers a
# constant; NameID changed after signing.
XSLT_T="<Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"><xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" version=\"1.0\"><xsl:output method=\"text\"/><xsl:template match=\"/\">constant</xsl:template></xsl:stylesheet></Transform>"
POST=$EVIL_NAMEID signed xslt-transform.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$XSLT_T")")" "${RSA_A[@]}"

# A correctly signed assertion for another user, adele.vance@contoso.example.evil.example
# (NameID, email and name claims): the comment-injection test inserts
# <!----> after "contoso.example", which exclusive c14n ignores, and checks
# that the session never holds the truncated adele.vance@contoso.example.
PRE='s{adele\.vance\@contoso\.example}{adele.vance\@contoso.example.evil.example}g' \
	signed nameid-suffix.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"

# HMAC-SHA256 keyed with idp-a's public certificate (key confusion): anyone
# can compute it. The forged assertion names the attacker.
openssl x509 -in "$KEYS/idp-a.crt" -outform DER -out "$WORK/idp-a.der"
PRE=$EVIL_NAMEID signed hmac-sha256.xml "$(sig "$EXC" http://www.w3.org/2001/04/xmldsig-more#hmac-sha256 "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" \
	--hmackey "$WORK/idp-a.der" --enabled-key-data hmac
# Whitespace character references in a signed attribute value (FriendlyName
# "tenant<TAB>id<LF>x<CR>y") and a non-ASCII display name (Adèle, as
# UTF-8). xmlsec1 accepts it; it refuses each change below, where the
# parser we use would read the same values as signed: a literal tab, line
# break or carriage return for a reference (XML normalizes a literal one to
# a space), and an XML declaration naming another encoding.
PRE='s{<Attribute Name="}{<Attribute FriendlyName="tenant&#x9;id&#xA;x&#xD;y" Name="}; s{>Adele Vance<}{>Ad&#xE8;le Vance<}' \
	POST='s{&#xE8;}{è}' \
	signed charref-whitespace.xml "$(sig "$EXC" "$RSA256" "$(ref "#$AID" "$(tr_ "$ENV")" "$(tr_ "$EXC")")")" "${RSA_A[@]}"
for change in 's{&#9;}{\t}' 's{&#10;}{\n}' 's{&#13;}{\r}' 's{\A}{<?xml version="1.0" encoding="ISO-8859-1"?>}'; do
	perl -0777 -pe "$change or die" "$OUT/charref-whitespace.xml" >"$WORK/changed.xml"
	if xmlsec1 --verify --pubkey-cert-pem "$KEYS/idp-a.crt" --enabled-key-data rsa "${ID_ATTRS[@]}" --node-id "$AID" \
		"$WORK/changed.xml" >/dev/null 2>&1; then
		echo "gen.sh: xmlsec1 accepts charref-whitespace.xml after $change" >&2
		exit 1
	fi
done
# Exclusive c14n against xmlsec1's (libxml2's), on small documents with the
# namespace and escaping cases where canonicalizers have differed: each
# c14n/NAME.xml is signed (the element with ID r1) and verified by xmlsec1;
# each NAME.ok-N.xml is a change xmlsec1 still verifies (c14n ignores it),
# each NAME.bad-N.xml one it refuses. c14n_xmlsec_internal_test.go checks
# that excC14N agrees on every file.
C14NDIR=$OUT/c14n
mkdir -p "$C14NDIR"
rm -f "$C14NDIR"/*.xml
c14nsig() { # prefix-list
	local inc=""
	[[ -n $1 ]] && inc="<ec:InclusiveNamespaces xmlns:ec=\"$EXC\" PrefixList=\"$1\"/>"
	printf '<ds:Signature xmlns:ds="%s"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="%s"/><ds:SignatureMethod Algorithm="%s"/><ds:Reference URI="#r1"><ds:Transforms><ds:Transform Algorithm="%s"/><ds:Transform Algorithm="%s">%s</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="%s"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>' \
		"$DS" "$EXC" "$RSA256" "$ENV" "$EXC" "$inc" "$SHA256"
}
xmlsec1_c14n_verifies() { # file id-node
	xmlsec1 --verify --pubkey-cert-pem "$KEYS/idp-a.crt" --enabled-key-data rsa --id-attr:ID "$2" "$1" >/dev/null 2>&1
}
# c14n name id-node prefix-list template changes...: SIG in template is the
# signature; a change is "ok:PERL" or "bad:PERL".
c14n() {
	local name=$1 node=$2 pl=$3 tpl=$4 n=0
	shift 4
	printf '%s' "${tpl//SIG/$(c14nsig "$pl")}" >"$WORK/$name.tpl"
	xmlsec1 --sign "${RSA_A[@]}" --id-attr:ID "$node" --output "$WORK/$name.xml" "$WORK/$name.tpl"
	perl -0777 -pi -e 's/\A<\?xml[^>]*\?>\r?\n?//; s/\s+\z//;' "$WORK/$name.xml"
	xmlsec1_c14n_verifies "$WORK/$name.xml" "$node" || { echo "gen.sh: xmlsec1 does not verify c14n/$name.xml" >&2; exit 1; }
	cp "$WORK/$name.xml" "$C14NDIR/$name.xml"
	for change in "$@"; do
		n=$((n + 1))
		local kind=${change%%:*} out="$C14NDIR/$name.${change%%:*}-$n.xml"
		perl -0777 -pe "${change#*:} or die" "$WORK/$name.xml" >"$out"
		if xmlsec1_c14n_verifies "$out" "$node"; then
			[[ $kind == ok ]] || { echo "gen.sh: xmlsec1 verifies $out" >&2; exit 1; }
		else
			[[ $kind == bad ]] || { echo "gen.sh: xmlsec1 refuses $out" >&2; exit 1; }
		fi
	done
	echo "signed and verified: $C14NDIR/$name.xml (+$n changes)"
}
c14n default-undeclared urn:a:r "" '<r xmlns="urn:a" ID="r1">SIG<b xmlns=""><c/><a:d xmlns:a="urn:a"/></b></r>' \
	'bad:s{<b xmlns="">}{<b>}' 'bad:s{<b xmlns="">}{<b xmlns="urn:b">}' 'ok:s{<c/>}{<c xmlns=""/>}'
c14n prefix-redefined r "" '<r xmlns:p="urn:a" ID="r1">SIG<p:b><p:c xmlns:p="urn:b"><p:d/></p:c></p:b><p:e/></r>' \
	'bad:s{ xmlns:p="urn:b"}{}' 'bad:s{<p:e/>}{<p:e xmlns:p="urn:b"/>}' 'ok:s{<p:b>}{<p:b xmlns:p="urn:a">}' 'ok:s{<p:d/>}{<p:d xmlns:p="urn:b"/>}'
c14n prefix-redefined-unused r "" '<r xmlns:p="urn:a" ID="r1">SIG<p:b><x xmlns:p="urn:b"><p:d/></x></p:b></r>' \
	'bad:s{<x xmlns:p="urn:b">}{<x>}' 'ok:s{<x xmlns:p="urn:b"><p:d/>}{<x xmlns:p="urn:c"><p:d xmlns:p="urn:b"/>}'
c14n attributes-by-uri r "" '<r xmlns:a="urn:z" xmlns:b="urn:a" ID="r1" a:x="1" b:y="2" z="3">SIG</r>' \
	'bad:s{xmlns:a="urn:z" xmlns:b="urn:a"}{xmlns:a="urn:a" xmlns:b="urn:z"}' 'ok:s{ a:x="1" b:y="2" z="3"}{ z="3" b:y="2" a:x="1"}'
c14n prefixes-same-uri r "" '<r xmlns:a="urn:x" xmlns:b="urn:x" ID="r1" a:k="1">SIG<b:e/></r>' \
	'bad:s{a:k=}{b:k=}' 'bad:s{<b:e/>}{<a:e/>}'
c14n xml-attributes r "" '<r xml:lang="en" ID="r1">SIG<b xml:space="preserve" xml:id="q">t</b></r>' \
	'bad:s{xml:lang="en"}{xml:lang="fr"}' 'ok:s{<r }{<r xmlns:xml="http://www.w3.org/XML/1998/namespace" }'
c14n inclusive-prefix r "p" '<r xmlns:p="urn:a" xmlns:q="urn:q" ID="r1">SIG<b/></r>' \
	'bad:s{xmlns:p="urn:a"}{xmlns:p="urn:b"}' 'ok:s{xmlns:q="urn:q"}{xmlns:q="urn:other"}'
c14n inclusive-default r "#default p" '<o xmlns="urn:d" xmlns:p="urn:a"><r xmlns="" ID="r1">SIG<b/></r></o>' \
	'bad:s{<r xmlns="" }{<r xmlns="urn:x" }' 'ok:s{<o xmlns="urn:d"}{<o xmlns="urn:e"}'
c14n default-from-parent urn:o:r "" '<o xmlns="urn:o" xmlns:p="urn:p"><r ID="r1" p:z="1">SIG<b/></r></o>' \
	'bad:s{<o xmlns="urn:o" xmlns:p="urn:p">}{<o xmlns="urn:o" xmlns:p="urn:q">}' 'ok:s{<o xmlns="urn:o" xmlns:p="urn:p"><r }{<o><r xmlns="urn:o" xmlns:p="urn:p" }'
c14n escaping r "" '<r ID="r1" a="&lt;&amp;&gt;&quot;&#9;&#xA;&#xD;'"'"'">SIG&lt;&amp;&gt;"'"'"'&#xD;<![CDATA[<&>]]></r>' \
	'bad:s{&#xD;<}{\r<}' 'bad:s{&amp;&gt;"}{&amp;amp;&gt;"}' 'ok:s{&lt;&amp;&gt;"}{&lt;&amp;>"}' 'ok:s{&gt;&quot;}{>&quot;}'
c14n comments r "" '<r ID="r1">SIG<!-- c --><b>x<!--y-->z</b></r>' \
	'ok:s{<!-- c -->}{}' 'ok:s{x<!--y-->z}{x<!---->z}' 'bad:s{x<!--y-->z}{x<!--y-->Z}'
echo "gen.sh: done"
