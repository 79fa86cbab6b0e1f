// Package redact is loupe's redaction engine: built-in detectors for
// personal data and credentials, custom regex rules, per-attribute-key rules
// and keyed hashing of ids that must stay joinable. The same engine runs in
// the Go SDK (a span processor, before export) and on the server (before
// anything touches disk), so both sides redact identically.
//
// It imports only the standard library.
//
// # Rules
//
// Built-in rules, all on by default except "ip":
//
//	email    local@domain.tld
//	phone    international (+44 20 7946 0958, +1-415-555-0132, +14155550132),
//	         North American ((415) 555-0132, 415-555-0132, 415.555.0132,
//	         1-415-555-0132) and national numbers with a leading 0 and
//	         separators (020 7946 0958, 01 23 45 67 89)
//	card     13-19 digit payment card numbers, contiguous or grouped by
//	         spaces or dashes, with a known issuer prefix and a valid Luhn
//	         check digit (so order ids and timestamps are left alone)
//	ssn      US social security numbers 123-45-6789 (invalid areas 000,
//	         666 and 900-999, group 00 and serial 0000 excluded)
//	iban     IBANs with a known country length and a valid mod-97 check,
//	         contiguous or in groups of four
//	api_key  provider key shapes: OpenAI/Anthropic (sk-, sk-ant-), Stripe
//	         (sk_live_, pk_test_, rk_live_, ...), GitHub (ghp_, gho_, ghu_,
//	         ghs_, ghr_, github_pat_), GitLab (glpat-), AWS (AKIA, ASIA),
//	         Google (AIza), Slack (xoxb-, xoxp-, ..., xapp-), Hugging Face (hf_)
//	jwt      three base64url segments, header starting "eyJ"
//	bearer   the token after "Bearer " (the word itself is kept)
//	secret   a high-entropy value assigned to a key named like *key, *token,
//	         *secret, *password, *passwd, *pwd, *credential(s): api_key=...,
//	         "client_secret": "...", X-Api-Key: ... (the key name is kept);
//	         also PEM private key blocks (-----BEGIN ... PRIVATE KEY-----)
//	ip       IPv4 and IPv6 addresses (only when enabled)
//
// Each match is replaced with a marker naming its rule, "[REDACTED:email]",
// "[REDACTED:card]" and so on; custom rules use "[REDACTED:custom:<name>]" and
// key rules with action mask "[REDACTED:key]". Hashed values read
// "hmac:<16 hex digits>" (the first 64 bits of HMAC-SHA256 keyed with the
// server secret). Redaction is idempotent: redacting redacted text changes
// nothing.
//
// Text containing JSON escapes (a message list serialized into a string
// attribute) is handled: a backslash escape such as \n never becomes part of a
// match, so the redacted text stays valid JSON.
//
// # Speed
//
// Built-in rules run in one hand-written pass over the text: cheap triggers
// ('@', digit runs, a few letter prefixes, key names followed by ':' or '=')
// followed by precise validation of the candidates. When nothing matches,
// Text returns its input and allocates nothing. Custom regexes run only when
// configured.
//
// # Rules file
//
// ParseConfig reads a line-based file. Blank lines and lines starting with
// '#' are ignored; everything else is a directive and its arguments,
// separated by spaces:
//
//	disable <rule>                    turn a built-in rule off (email, phone, ...)
//	enable <rule>                     turn it back on; "enable ip" enables ip
//	custom <name> <mask|hash> <regex> custom RE2 rule; the regex is the rest
//	                                  of the line and may contain spaces
//	key <key-or-glob> <drop|hash|mask|keep>
//	                                  per-attribute-key rule; '*' matches any run
//	                                  of characters; the first matching rule wins
//	hash <key-or-glob>                hash this attribute's value (in addition
//	                                  to DefaultHashKeys)
//
// For example:
//
//	# project acme
//	enable ip
//	disable phone
//	custom order_ref mask ORD-[0-9]{4}-[0-9]{6}
//	key http.request.header.cookie drop
//	key *.password mask
//	key user.id keep          # ids here are already pseudonymous
//	hash tenant.customer_id
//
// A bad line (unknown directive, rule or action, bad regex) makes ParseConfig
// fail with every bad line's number and reason; callers keep the rules
// already in force.
package redact
